import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { repoRoot } from '../tests/support/processes';

// bin/run-program.js on a small copy of the layout: a program "demo" with a
// bundle that says "bundle" and a TypeScript entry that says "source".

const root = mkdtempSync(join(tmpdir(), 'run-program-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

mkdirSync(join(root, 'bin'));
mkdirSync(join(root, 'out/bin'), { recursive: true });
mkdirSync(join(root, 'src'));
mkdirSync(join(root, 'node_modules'));
symlinkSync(join(repoRoot, 'node_modules/tsx'), join(root, 'node_modules/tsx'));
writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
copyFileSync(join(repoRoot, 'bin/run-program.js'), join(root, 'bin/run-program.js'));
writeFileSync(join(root, 'bin/demo.js'), "import { runProgram } from './run-program.js';\nawait runProgram('demo', 'src/demo.ts');\n");
writeFileSync(join(root, 'src/demo.ts'), "const said: string = 'source';\nconsole.log(said);\n");
writeFileSync(join(root, 'src/part.ts'), 'export {};\n');
writeFileSync(join(root, 'out/bin/demo.mjs'), "console.log('bundle');\n");
const list = (entry = 'src/demo.ts') => writeFileSync(join(root, 'out/bin/demo.sources.json'), JSON.stringify({ entry, sources: ['src/demo.ts', 'src/part.ts'] }));
const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);
const run = (env: Record<string, string> = {}) => execFileSync(process.execPath, [join(root, 'bin/demo.js')], { env: { ...process.env, FLEET_FROM_SOURCE: '', ...env }, encoding: 'utf8' }).trim();

/** Sources at t=1000, the bundle and its list at t=2000: a fresh build. */
function fresh(): void {
  list();
  at('src/demo.ts', 1000);
  at('src/part.ts', 1000);
  at('out/bin/demo.mjs', 2000);
  at('out/bin/demo.sources.json', 2000);
}

it('runs the bundle while no source it was made from is newer', () => {
  fresh();
  expect(run()).toBe('bundle');
});

it('runs the TypeScript once any source is newer than the bundle, or FLEET_FROM_SOURCE=1', () => {
  fresh();
  at('src/part.ts', 3000);
  expect(run()).toBe('source');
  fresh();
  expect(run({ FLEET_FROM_SOURCE: '1' })).toBe('source');
});

it('runs the TypeScript when the list is missing, older than the bundle, names another entry, or a source is gone', () => {
  fresh();
  rmSync(join(root, 'out/bin/demo.sources.json'));
  expect(run()).toBe('source');
  fresh();
  at('out/bin/demo.sources.json', 1500);
  expect(run()).toBe('source');
  list('src/other.ts');
  at('out/bin/demo.sources.json', 2000);
  expect(run()).toBe('source');
  fresh();
  rmSync(join(root, 'src/part.ts'));
  expect(run()).toBe('source');
  writeFileSync(join(root, 'src/part.ts'), 'export {};\n');
});
