import { execFileSync } from 'node:child_process';

/**
 * `asciinema cat FILE` as a person runs it (asciinema is installed by
 * .ci/run). It wants a terminal (/dev/tty, put in raw mode, so the output
 * passes unchanged), which util-linux `script` provides.
 */
export function asciinemaCat(path: string): string {
  return execFileSync('script', ['-qec', `asciinema cat '${path}'`, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).toString('utf8');
}
