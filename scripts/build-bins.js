#!/usr/bin/env node
// `npm run build:bins`: bundles each program (fleet-hub, fleet-agent,
// fleetctl, fleet-artifact) into out/bin/NAME.mjs with esbuild (npm
// packages stay outside, resolved from node_modules as usual) and records
// the sources it was made from in out/bin/NAME.sources.json. bin/NAME.js
// runs the bundle while none of those sources is newer than it, else the
// TypeScript through tsx, so an edit is never hidden behind a stale bundle.
// Why bundle: tsx's loader resolves and transforms every module at each
// start — `fleetctl cp` of one byte took 0.73-0.84 s through it and
// 0.31-0.36 s bundled (the CLI answers that much sooner; a benchmark that
// times fleetctl from its start sees it too).
import { build } from 'esbuild';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PROGRAMS = {
  'fleet-hub': 'hub/cli.ts',
  'fleet-agent': 'agent/cli.ts',
  fleetctl: 'cli/fleetctl.ts',
  'fleet-artifact': 'artifact/cli.ts',
};

const outDir = join(root, 'out/bin');
mkdirSync(outDir, { recursive: true });
await Promise.all(
  Object.entries(PROGRAMS).map(async ([name, entry]) => {
    const started = new Date();
    const result = await build({
      absWorkingDir: root,
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
      metafile: true,
      outfile: join(outDir, `${name}.mjs`),
    });
    // The bundle is dated when its build began: a source saved while esbuild ran is newer, so not hidden.
    utimesSync(join(outDir, `${name}.mjs`), started, started);
    // Written after the bundle, so the bundle is never newer than its list.
    writeFileSync(join(outDir, `${name}.sources.json`), JSON.stringify({ entry, sources: Object.keys(result.metafile.inputs) }, null, 1) + '\n');
  }),
);
