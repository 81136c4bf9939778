// fleet-artifact sign --key K.key IN -o OUT
import { readFile } from 'node:fs/promises';
import { signArtifactFile } from '../sign-artifact';
import { parseArgs, required, UsageError } from './args';

export async function sign(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { key: 'string', output: 'string' }, { '-o': 'output' });
  if (args.positional.length !== 1) throw new UsageError('sign takes one input artifact');
  const key = await readFile(required(args, 'key'), 'utf8');
  const output = required(args, 'output');
  const { manifest, signature } = await signArtifactFile(args.positional[0], output, key);
  process.stdout.write(`wrote ${output}: ${manifest.name} ${manifest.version} signed by ${signature.keyId}\n`);
  return 0;
}
