import { execFile } from 'node:child_process';

// Runs a bootloader tool without a shell, bounded in time, and turns every way
// it can fail into an error that names the command and carries its stderr.

export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

export interface RunToolOptions {
  /** Debian package that provides the tool, for the "not found" message. */
  pkg: string;
  timeoutMs?: number;
}

export function runTool(file: string, args: readonly string[], opts: RunToolOptions): Promise<ToolOutput> {
  const timeout = opts.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  const command = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean; signal?: string | null };
      const said = stderr.trim().replace(/\s*\n\s*/g, '; ');
      if (e.code === 'ENOENT') return reject(new Error(`${file} not found: install ${opts.pkg}`));
      if (e.code === 'EACCES') return reject(new Error(`${file} is not executable (EACCES): reinstall ${opts.pkg}`));
      if (e.killed) return reject(new Error(`${command} did not finish within ${timeout / 1000} s and was killed${said ? `: ${said}` : ''}`));
      const how = typeof e.code === 'number' ? `exit ${e.code}` : e.signal ? `signal ${e.signal}` : e.message;
      reject(new Error(`${command} failed (${how})${said ? `: ${said}` : ''}`));
    });
  });
}
