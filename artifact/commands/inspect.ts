// fleet-artifact inspect [--json] [--key K.pub ...] FILE
import { readFile } from 'node:fs/promises';
import { inspectArtifact, type ArtifactInspection } from '../inspect-artifact';
import { parseArgs, UsageError } from './args';

function human(r: ArtifactInspection): string {
  const m = r.manifest;
  const kv = (o: Record<string, string>): string => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(', ') || '-';
  const lines = [
    `name:          ${m.name}`,
    `version:       ${m.version}`,
    `group:         ${m.group}`,
    `device types:  ${m.deviceTypes.join(', ')}`,
    `provides:      ${kv(m.provides)}`,
    `depends:       ${kv(m.depends)}`,
    `clears:        ${m.clearsProvides.join(', ') || '-'}`,
    `hooks:         ${Object.entries(m.hooks).map(([h, i]) => `${h} -> payload ${i}`).join(', ') || '-'}`,
    `signature:     ${r.signature ? `key ${r.signature.keyId} (${r.signatureStatus})` : 'none (unsigned)'}`,
    `file size:     ${r.fileSize} bytes`,
    'payloads:',
    ...m.payloads.map((p) => `  ${p.index}  ${p.type}  ${p.name}  ${p.size} bytes, stored ${p.compression} ${p.storedSize} bytes  sha256 ${p.sha256}`),
  ];
  if (r.signatureStatus !== 'trusted') lines.push('(header only, not verified: run `fleet-artifact verify --key K.pub FILE` to check signature and payloads)');
  if (r.signatureProblem && r.signature) lines.push(`signature problem: ${r.signatureProblem}`);
  return lines.join('\n') + '\n';
}

export async function inspect(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { json: 'boolean', key: 'list' });
  if (args.positional.length !== 1) throw new UsageError('inspect takes one artifact file');
  const keys = await Promise.all((args.lists.get('key') ?? []).map((k) => readFile(k, 'utf8')));
  const result = await inspectArtifact(args.positional[0], { trustedKeys: keys.length ? keys : undefined });
  process.stdout.write(args.booleans.has('json') ? JSON.stringify(result, null, 2) + '\n' : human(result));
  return 0;
}
