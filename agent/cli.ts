import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DeviceAgent, type AgentState } from './agent';
import { isHostPort, loadConfig, readCa, readTrustedKeys, realIdentity } from './config';
import { loadOrCreateIdentityKey } from './identity-key';
import { readInventory } from './inventory';
import { RemoteLink, withRemoteLink } from './remote-link/remote-link';
import type { RemoteConfig } from './remote/remote-config';
import { RemoteSessions } from './remote/remote-sessions';
import { DEFAULT_SIM_DEVICE_TYPE, simIdentity } from './sim/sim-device';
import { deviceRemoteConfig, type SimRemoteConfig } from './sim/sim-remote';
import { evenShare, startSimulator, type RunningSimulator } from './sim/simulator';
import { createDeviceUpdates } from './update/device-engine';
import { remoteInventory } from './remote/remote-inventory';

// fleet-agent: the device agent (run), N simulated devices (sim), and the
// device's identity for preauthorization (identity).

const HELP = `fleet-agent — the Fleet device agent

Usage:
  fleet-agent run --config FILE
      Run the agent on this device. FILE is JSON:
        { "hub": "HOST:PORT", "ca": "hub.crt (relative to FILE)",
          "stateDir": "/var/lib/fleet-agent", "deviceType": "my-board",
          "identity": { extra attributes }, "inventoryIntervalSeconds": 3600,
          "trustedArtifactKeys": ["release.pub"],
          "slots": { "a": "/dev/mmcblk0p2", "b": "/dev/mmcblk0p3" },
          "bootloader": { "kind": "uboot" | "grub", ... },
          "hooksDir": "/etc/fleet-agent/hooks", "modulesDir": "...", "appsDir": "...",
          "healthCheck": { "units": [...], "scripts": [...], "timeoutSeconds": 300 },
          "rebootCommand": ["systemctl", "reboot"],
          "remote": { "shell": {...}, "files": {...}, "portForward": {...} } }
        (agent/README.md explains every field)

  fleet-agent sim --hub HOST:PORT --ca FILE --devices N --state DIR
                  [--artifact-key FILE]... [--device-type T] [--start-index I]
                  [--spread-ms MS] [--bootlimit N] [--modules-dir DIR]
                  [--hooks-dir DIR] [--fail-health PERCENT]
                  [--remote-config FILE] [--verbose]
      Run N simulated devices in this process, device i keeping its state in
      DIR/dev-0000i (its root filesystem slots in DIR/dev-0000i/slots/a.img
      and b.img). They install artifacts signed by a key given with
      --artifact-key (a .pub file; repeatable) and refuse all others.
      --fail-health PERCENT makes that share of the devices fail the health
      check after an update's reboot (whatever the image): device i fails
      when floor(i*PERCENT/100) steps up at i, so exactly
      floor(N*PERCENT/100) of devices 1..N, spread evenly (6: 17, 34, 50, ...).
      --remote-config FILE: remote sessions every device serves; FILE is
      JSON, the agent config's "remote" section, e.g.
        { "shell": { "enabled": true },
          "files": { "enabled": true, "roots": ["files"] },
          "portForward": { "enabled": true, "allow": ["127.0.0.1:*"] } }
      where a relative root is a folder in each device's DIR/dev-0000i.
      Without it the devices refuse every remote session (disabled).
      Prints a progress line; stop with Ctrl-C.

  fleet-agent identity (--config FILE | --state DIR [--sim] [--device-type T]) [--json]
      Print the device's public key (hex and base64) and identity attributes,
      making the key if there is none yet (for fleetctl devices preauthorize).
      --sim prints a simulated device's identity (DIR is its dev-NNNNN folder).

Environment:
  FLEET_HUB, FLEET_CA   defaults for --hub / --ca and the config's hub / ca
`;

class UsageError extends Error {}

type Flags = Record<string, string | boolean | string[] | undefined>;

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>): Flags {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false }).values as unknown as Flags;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function required(flags: Flags, name: string, envName?: string): string {
  const value = flags[name] ?? (envName ? process.env[envName] : undefined);
  if (typeof value !== 'string' || value === '') throw new UsageError(`missing --${name}${envName ? ` (or ${envName})` : ''}`);
  return value;
}

function stamp(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

/** Runs until SIGINT/SIGTERM, then stops cleanly; a second signal forces exit. */
function untilSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal}: stopping`);
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`error while stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function run(args: string[]): Promise<void> {
  const flags = parse(args, { config: { type: 'string' } });
  if (flags.help) return void console.log(HELP);
  const config = loadConfig(required(flags, 'config'));
  const caPem = readCa(config.caPath);
  const updates = createDeviceUpdates(config, () => agent, stamp);
  const remote = new RemoteLink({ sessions: new RemoteSessions(config.remote), dial: (channelId) => agent.channel(channelId), log: (line) => stamp(`remote: ${line}`) });
  const agent: DeviceAgent = new DeviceAgent({
    hub: config.hub,
    caPem,
    stateDir: config.stateDir,
    identity: () => realIdentity(config),
    inventory: async () => ({ ...(await readInventory()), ...(await updates.inventory()), ...remoteInventory(config.remote) }),
    inventoryIntervalMs: config.inventoryIntervalSeconds * 1000,
    control: withRemoteLink(updates.engine, remote),
    log: stamp,
  });
  stamp(`fleet-agent: hub ${config.hub}, state ${config.stateDir}, remote sessions: ${remoteSummary(config.remote)}`);
  await updates.engine.start();
  agent.start();
  untilSignal(async () => {
    await remote.stop('agent stopping');
    await agent.stop();
    await updates.engine.stop();
  });
}

function remoteSummary(r: RemoteConfig): string {
  const on = [r.shell.enabled && 'shell', r.files.enabled && `files in ${r.files.roots.join(', ')}`, r.portForward.enabled && `port forward to ${r.portForward.allow.map((a) => a.text).join(', ')}`].filter(Boolean);
  return on.length ? on.join('; ') : 'off';
}

function summary(sim: RunningSimulator): string {
  const c = sim.counts();
  const others = (['starting', 'enrolling', 'connecting', 'rejected', 'stopped'] as AgentState[]).filter((s) => c[s] > 0).map((s) => `${c[s]} ${s}`);
  let line = `sim: ${sim.agents.length} devices — ${c.online} online, ${c.pending} pending, ${c.backoff} backoff${others.length ? `, ${others.join(', ')}` : ''}`;
  // The most common problem says more than thousands of per-device lines.
  const problems = new Map<string, number>();
  for (const agent of sim.agents) {
    const p = agent.state === 'backoff' ? agent.problem : undefined;
    if (p) problems.set(p, (problems.get(p) ?? 0) + 1);
  }
  const top = [...problems].sort((a, b) => b[1] - a[1])[0];
  if (top) line += ` — ${top[1]}× ${top[0]}`;
  return line;
}

function wholeNumber(text: string, name: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number >= ${min}, got "${text}"`);
  return n;
}

function percent(text: string, name: string): number {
  const n = Number(text.replace(/%$/, ''));
  if (text === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new UsageError(`--${name} must be a percent from 0 to 100, got "${text}"`);
  return n;
}

async function sim(args: string[]): Promise<void> {
  const flags = parse(args, {
    hub: { type: 'string' },
    ca: { type: 'string' },
    devices: { type: 'string' },
    state: { type: 'string' },
    'device-type': { type: 'string' },
    'start-index': { type: 'string' },
    'spread-ms': { type: 'string' },
    'artifact-key': { type: 'string', multiple: true },
    bootlimit: { type: 'string' },
    'modules-dir': { type: 'string' },
    'hooks-dir': { type: 'string' },
    'fail-health': { type: 'string' },
    'remote-config': { type: 'string' },
    verbose: { type: 'boolean' },
  });
  if (flags.help) return void console.log(HELP);
  const hub = required(flags, 'hub', 'FLEET_HUB');
  if (!isHostPort(hub)) throw new UsageError(`--hub must be HOST:PORT, got "${hub}"`);
  const caPem = readCa(required(flags, 'ca', 'FLEET_CA'));
  const devices = wholeNumber(required(flags, 'devices'), 'devices', 1);
  const running = await startSimulator({
    hub,
    caPem,
    devices,
    stateDir: required(flags, 'state'),
    deviceType: (flags['device-type'] as string | undefined) ?? DEFAULT_SIM_DEVICE_TYPE,
    startIndex: flags['start-index'] === undefined ? undefined : wholeNumber(flags['start-index'] as string, 'start-index', 0),
    connectSpreadMs: flags['spread-ms'] === undefined ? undefined : wholeNumber(flags['spread-ms'] as string, 'spread-ms', 0),
    trustedArtifactKeys: readTrustedKeys((flags['artifact-key'] as string[] | undefined) ?? []),
    bootlimit: flags.bootlimit === undefined ? undefined : wholeNumber(flags.bootlimit as string, 'bootlimit', 1),
    modulesDir: flags['modules-dir'] as string | undefined,
    hooksDir: flags['hooks-dir'] as string | undefined,
    failHealth: flags['fail-health'] === undefined ? undefined : evenShare(percent(flags['fail-health'] as string, 'fail-health')),
    remote: flags['remote-config'] === undefined ? undefined : readRemoteConfig(flags['remote-config'] as string),
    log: flags.verbose ? stamp : undefined,
  });
  let last = '';
  let lastAt = 0;
  const progress = setInterval(() => {
    const line = summary(running);
    if (line !== last || Date.now() - lastAt >= 5_000) {
      console.log(line);
      last = line;
      lastAt = Date.now();
    }
  }, 1_000);
  untilSignal(async () => {
    clearInterval(progress);
    await running.close();
    console.log(summary(running));
  });
}

/** The JSON file of --remote-config, validated (relative roots stand for each device's folder). */
function readRemoteConfig(file: string): SimRemoteConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--remote-config ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: SimRemoteConfig;
  try {
    json = JSON.parse(text) as SimRemoteConfig;
  } catch (err) {
    throw new UsageError(`--remote-config ${file}: not valid JSON (${(err as Error).message})`);
  }
  try {
    deviceRemoteConfig(json, '/');
  } catch (err) {
    throw new UsageError(`--remote-config ${file}: ${(err as Error).message}`);
  }
  return json;
}

async function identity(args: string[]): Promise<void> {
  const flags = parse(args, {
    config: { type: 'string' },
    state: { type: 'string' },
    sim: { type: 'boolean' },
    'device-type': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (flags.help) return void console.log(HELP);
  if (!flags.config === !flags.state) throw new UsageError('give either --config FILE or --state DIR');
  let stateDir: string;
  let attributes: () => Record<string, string>;
  if (typeof flags.config === 'string') {
    const config = loadConfig(flags.config);
    stateDir = config.stateDir;
    attributes = () => realIdentity(config);
  } else {
    stateDir = flags.state as string;
    const deviceType = flags['device-type'] as string | undefined;
    if (flags.sim) attributes = () => simIdentity(deviceType ?? DEFAULT_SIM_DEVICE_TYPE, key.publicKey);
    else if (deviceType) attributes = () => realIdentity({ deviceType, identity: {} });
    else throw new UsageError('--state without --config needs --device-type T (or --sim for a simulated device)');
  }
  const key = await loadOrCreateIdentityKey(stateDir);
  const attrs = attributes();
  if (flags.json) {
    console.log(JSON.stringify({ publicKeyHex: key.publicKey.toString('hex'), publicKeyBase64: key.publicKey.toString('base64'), identity: attrs, created: key.created }, null, 2));
    return;
  }
  if (key.created) console.log(`created a new identity key in ${stateDir}/identity.key`);
  console.log(`public key (hex):    ${key.publicKey.toString('hex')}`);
  console.log(`public key (base64): ${key.publicKey.toString('base64')}`);
  console.log('identity:');
  for (const [k, v] of Object.entries(attrs)) console.log(`  ${k}=${v}`);
  console.log(`\npreauthorize with:\n  fleetctl devices preauthorize --key ${key.publicKey.toString('hex')} --identity ${Object.entries(attrs).map(([k, v]) => `${k}=${v}`).join(' ')}`);
}

const commands: Record<string, (args: string[]) => Promise<void>> = { run, sim, identity };

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return void console.log(HELP);
  const handler = commands[command];
  if (!handler) throw new UsageError(`unknown command "${command}" (commands: run, sim, identity)`);
  await handler(rest);
}

// `fleet-agent identity | head -2` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`fleet-agent: ${(err as Error).message}`);
  if (err instanceof UsageError) console.error('see fleet-agent --help');
  process.exit(1);
});
