#!/usr/bin/env node
// `npm start` / `npm run web`: starts the console.
//
// With Electron's binary installed (a desktop), `npm start` builds with
// electron-vite and opens the desktop app. Without it (CI, servers, this
// project's own machines), or always with --web, it serves the same renderer
// to a browser through the WebSocket bridge and prints the URL to open.
//
//   --web            serve to a browser even when Electron is present
//   --port N         bridge port (default: any free port)
//   --no-embedded    do not start the embedded demo hub + simulated devices
//   --devices N      simulated devices of the embedded fleet (default 5)
//
// Data lives in $FLEET_HOME (default ~/.fleet-console).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function parseArgs(argv) {
  const opts = { web: false, port: 0, embedded: true, devices: 5 };
  const number = (name, value, min, max) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) fail(`${name} needs a whole number from ${min} to ${max}, got "${value ?? ''}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--web') opts.web = true;
    else if (arg === '--no-embedded') opts.embedded = false;
    else if (arg === '--port') opts.port = number('--port', argv[++i], 0, 65535);
    else if (arg === '--devices') opts.devices = number('--devices', argv[++i], 0, 100_000);
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm start [-- --web] [--port N] [--no-embedded] [--devices N]');
      process.exit(0);
    } else fail(`unknown option "${arg}" (try --help)`);
  }
  return opts;
}

function fail(message) {
  console.error(`fleet console: ${message}`);
  process.exit(2);
}

/**
 * Path of Electron's binary when it is really installed; null otherwise.
 * Reads what the electron package would return, without requiring it:
 * `require('electron')` starts a download when the binary is missing.
 */
function electronBinary() {
  try {
    const dir = dirname(require.resolve('electron/package.json'));
    const pathFile = join(dir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const relative = readFileSync(pathFile, 'utf8').trim();
    const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
    const binary = override ? join(override, relative) : join(dir, 'dist', relative);
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** A desktop session where a window can open (not a server, CI or SSH session). */
function hasDesktop() {
  return process.platform === 'darwin' || process.platform === 'win32' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

/** Electron 45 downloads its binary on first use; on a desktop we try once, and fall back to the browser. */
async function installElectron() {
  console.log("Downloading Electron's binary (first start on this machine)…");
  try {
    await run(process.execPath, [join(dirname(require.resolve('electron/package.json')), 'install.js')]);
  } catch (err) {
    console.log(`Could not install Electron (${err.message}).`);
  }
  return electronBinary();
}

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', ...options });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${signal ?? code}`))));
  });
}

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Rebuilds out/web when it is missing or older than the renderer's sources. */
async function ensureWebBuild() {
  const index = join(root, 'out/web/index.html');
  const sources = ['src-renderer', 'src-main/common', 'vite.web.config.ts'].map((p) => join(root, p));
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  console.log('Building the web console (out/web)…');
  await run(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'vite.web.config.ts', '--logLevel', 'warn']);
}

async function startElectron(binary, opts) {
  await run(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build']);
  const env = { ...process.env, FLEET_EMBEDDED: opts.embedded ? '1' : '0', FLEET_DEVICES: String(opts.devices) };
  const child = spawn(binary, ['.'], { cwd: root, stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 0));
}

async function startWeb(opts) {
  await ensureWebBuild();
  // fleetctl and the other programs start ~0.45 s sooner from their bundles (scripts/build-bins.js).
  await run(process.execPath, [join(root, 'scripts/build-bins.js')]);
  const { register } = await import('tsx/esm/api');
  register();
  const { createConsoleApp } = await import('../src-main/services/console-app.ts');
  const { startBridge } = await import('../src-main/bridge/bridge-server.ts');
  const userDataDir = process.env.FLEET_HOME || join(homedir(), '.fleet-console');
  const verbose = Boolean(process.env.FLEET_VERBOSE);

  console.log(`Starting the console services (data in ${userDataDir})…`);
  const app = await createConsoleApp({
    userDataDir,
    embedded: opts.embedded,
    embeddedDevices: opts.devices,
    embeddedDemoArtifacts: true,
    log: (line) => {
      if (verbose) console.log(line);
    },
  });
  let bridge;
  try {
    bridge = await startBridge({ api: app.api, subscribe: app.subscribe, staticDir: join(root, 'out/web'), port: opts.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const state = await app.api.connection.state();
  console.log('');
  if (state.embedded) {
    console.log(`Embedded hub ${state.hub} (certificate ${state.fingerprint}) with ${opts.devices} simulated devices.`);
    console.log(`Demo updates: FleetOS 1.1.0 is on the hub, ready to deploy (accept devices, select them, "Deploy…").`);
    console.log(`  More artifacts to drop on the Artifacts view: ${join(userDataDir, 'demo-artifacts')} (1.2.0 fails its health check and rolls back).`);
    console.log(`  Sign your own with the demo key the hub and devices trust: fleet-artifact write ... --key ${join(userDataDir, 'demo-signing', 'demo-signing.key')}`);
  }
  console.log(`Fleet console: ${bridge.url}`);
  console.log('Open this URL in a browser on this machine (the secret in it is valid until you stop the console). Ctrl+C stops.');

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the console…`);
    const force = setTimeout(() => {
      console.error('fleet console: shutdown took too long; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    await bridge.close();
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

const opts = parseArgs(process.argv.slice(2));
try {
  const binary = opts.web ? null : (electronBinary() ?? (hasDesktop() ? await installElectron() : null));
  if (binary) await startElectron(binary, opts);
  else {
    if (!opts.web) console.log("Electron's binary is not installed here: serving the console to a browser instead.");
    await startWeb(opts);
  }
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
