import { createRequire } from 'node:module';
import type * as NodePty from 'node-pty';

// node-pty is a native module, loaded on the first shell rather than when the
// agent starts: a device that never enables shells never loads it, and an
// agent bundled without its native file (a test's self-contained bundle, a
// device image that left it out) still runs everything else.
let loaded: typeof NodePty | undefined;

export function ptyModule(): typeof NodePty {
  loaded ??= createRequire(import.meta.url)('node-pty') as typeof NodePty;
  return loaded;
}
