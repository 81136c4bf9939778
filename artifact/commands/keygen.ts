// fleet-artifact keygen --out K: K.key (PKCS8 PEM, 0600) and K.pub (SPKI PEM).
import { writeFile } from 'node:fs/promises';
import { generateSigningKey } from '../keys';
import { parseArgs, required, UsageError } from './args';

export async function keygen(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { out: 'string' }, { '-o': 'out' });
  if (args.positional.length) throw new UsageError(`keygen takes no arguments (got ${args.positional.join(' ')})`);
  const base = required(args, 'out');
  const pair = generateSigningKey();
  try {
    // 'wx': never overwrite a key someone may already trust.
    await writeFile(`${base}.key`, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await writeFile(`${base}.pub`, pair.publicKeyPem, { mode: 0o644, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${(err as NodeJS.ErrnoException).path} already exists; choose another --out or remove it`);
    throw err;
  }
  process.stdout.write(`wrote ${base}.key (private, keep it secret) and ${base}.pub\nkey id ${pair.keyId}\n`);
  return 0;
}
