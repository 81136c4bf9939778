// fleet-artifact write rootfs-image IMAGE | app DIR | module NAME FILE... [options] -o FILE
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { packTree } from '../app-tree';
import { COMPRESSIONS, type Compression } from '../format';
import type { PayloadInput } from '../payload-source';
import { writeArtifact } from '../write-artifact';
import { keyValues, parseArgs, required, UsageError } from './args';
import { progressReporter } from './progress';

const FLAGS = {
  name: 'string',
  version: 'string',
  'device-type': 'list',
  group: 'string',
  provides: 'list',
  depends: 'list',
  'clears-provides': 'list',
  compression: 'string',
  key: 'string',
  output: 'string',
  hook: 'list',
} as const;

async function payloadsFor(kind: string | undefined, rest: string[]): Promise<PayloadInput[]> {
  switch (kind) {
    case 'rootfs-image': {
      if (rest.length !== 1) throw new UsageError('write rootfs-image takes one IMAGE file');
      if (!(await stat(rest[0])).isFile()) throw new UsageError(`${rest[0]} is not a file`);
      return [{ type: 'rootfs-image', source: rest[0] }];
    }
    case 'app': {
      if (rest.length !== 1) throw new UsageError('write app takes one DIR');
      if (!(await stat(rest[0])).isDirectory()) throw new UsageError(`${rest[0]} is not a directory`);
      return [{ type: 'app', source: packTree(rest[0]), name: 'app.tar', meta: { format: 'ustar', root: basename(rest[0]) } }];
    }
    case 'module': {
      const [name, ...files] = rest;
      if (!name || files.length === 0) throw new UsageError('write module takes a module NAME and at least one FILE');
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) throw new UsageError(`module name ${JSON.stringify(name)}: use lowercase letters, digits, _ and -`);
      for (const f of files) if (!(await stat(f)).isFile()) throw new UsageError(`${f} is not a file`);
      return files.map((f) => ({ type: `module:${name}` as const, source: f }));
    }
    default:
      throw new UsageError(`write needs a payload kind: rootfs-image IMAGE | app DIR | module NAME FILE... (got ${kind ?? 'nothing'})`);
  }
}

export async function write(argv: string[]): Promise<number> {
  const args = parseArgs(argv, FLAGS, { '-o': 'output' });
  const [kind, ...rest] = args.positional;
  const output = required(args, 'output');
  const deviceTypes = args.lists.get('device-type') ?? [];
  if (deviceTypes.length === 0) throw new UsageError('--device-type is required (repeat it for several types)');
  const compression = (args.strings.get('compression') ?? 'gzip') as Compression;
  if (!COMPRESSIONS.includes(compression)) throw new UsageError(`--compression must be one of ${COMPRESSIONS.join(', ')}`);
  const payloads = await payloadsFor(kind, rest);
  const hooks: Record<string, number> = {};
  for (const [hook, file] of Object.entries(keyValues(args.lists.get('hook'), 'hook'))) {
    hooks[hook] = payloads.length;
    payloads.push({ type: 'hook', source: file });
  }
  const keyPath = args.strings.get('key');
  const signingKey = keyPath ? await readFile(keyPath, 'utf8') : undefined;

  const partial = `${output}.partial-${process.pid}`;
  try {
    const result = await writeArtifact(
      {
        name: required(args, 'name'),
        version: required(args, 'version'),
        group: args.strings.get('group'),
        deviceTypes,
        provides: keyValues(args.lists.get('provides'), 'provides'),
        depends: keyValues(args.lists.get('depends'), 'depends'),
        clearsProvides: args.lists.get('clears-provides'),
        payloads,
        hooks,
        compression,
        signingKey,
        onProgress: progressReporter(payloads.map((p) => p.name ?? basename(String(p.source)))),
      },
      createWriteStream(partial, { mode: 0o644 }),
    );
    await rename(partial, output);
    const m = result.manifest;
    process.stdout.write(`wrote ${output}: ${m.name} ${m.version}, ${m.payloads.length} payload(s), ${result.size} bytes, ${result.signature ? `signed by ${result.signature.keyId}` : 'UNSIGNED (sign it with: fleet-artifact sign --key K.key)'}\n`);
    return 0;
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
