// fleet-artifact verify --key K.pub [--key ...] FILE: streams the whole file,
// checks the signature and every payload; exit 0 only when all hold.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ArtifactError } from '../errors';
import { readArtifact } from '../read-artifact';
import { parseArgs, UsageError } from './args';

export async function verify(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { key: 'list' });
  if (args.positional.length !== 1) throw new UsageError('verify takes one artifact file');
  const keyFiles = args.lists.get('key') ?? [];
  if (keyFiles.length === 0) throw new UsageError('verify needs at least one --key K.pub (a key the devices trust)');
  const keys = await Promise.all(keyFiles.map((k) => readFile(k, 'utf8')));
  const file = args.positional[0];
  try {
    const { manifest, keyId, size } = await readArtifact(createReadStream(file, { highWaterMark: 1024 * 1024 }), { trustedKeys: keys });
    process.stdout.write(`OK ${file}: ${manifest.name} ${manifest.version}, ${manifest.payloads.length} payload(s) verified, ${size} bytes, signed by ${keyId}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ArtifactError)) throw err;
    process.stderr.write(`verify FAILED (${err.code}): ${file}: ${err.message}\n`);
    return 1;
  }
}
