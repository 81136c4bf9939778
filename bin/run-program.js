// What every bin/*.js shim does: run the program's bundle (out/bin/NAME.mjs,
// made by `npm run build:bins`) when no source it was built from changed
// since, else the TypeScript entry through tsx's loader — slower to start
// (~0.45 s), never stale. FLEET_FROM_SOURCE=1 forces the TypeScript.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function runProgram(name, entry) {
  const bundle = new URL(`../out/bin/${name}.mjs`, import.meta.url);
  if (process.env.FLEET_FROM_SOURCE !== '1' && bundleIsFresh(name, bundle, entry)) return import(bundle.href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(new URL(`../${entry}`, import.meta.url).href);
}

function bundleIsFresh(name, bundle, entry) {
  try {
    const built = statSync(bundle).mtimeMs;
    const list = JSON.parse(readFileSync(new URL(`../out/bin/${name}.sources.json`, import.meta.url), 'utf8'));
    if (list.entry !== entry || statSync(new URL(`../out/bin/${name}.sources.json`, import.meta.url)).mtimeMs < built) return false;
    return list.sources.every((source) => statSync(root + source).mtimeMs <= built);
  } catch {
    return false; // no bundle, no list, a source gone: the TypeScript
  }
}
