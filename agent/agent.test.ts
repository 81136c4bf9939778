import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent, type AgentOptions, type AgentState } from './agent';
import { makeTestCertificate, ScriptedHub, type TestCertificate } from './testing/scripted-hub';
import { waitFor } from './testing/wait-for';
import { TOKEN_FILE } from './token-file';

// The agent against a scripted hub over real TLS gRPC: each test drives one
// path of the state machine on purpose. The real hub is in tests/system.

let cert: TestCertificate;
let otherCert: TestCertificate;
const dirs: string[] = [];
const hubs: ScriptedHub[] = [];
const agents: DeviceAgent[] = [];

beforeAll(() => {
  cert = makeTestCertificate();
  otherCert = makeTestCertificate();
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  for (const h of hubs.splice(0)) h.kill();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function hub(opts: ConstructorParameters<typeof ScriptedHub>[1] = {}, port = 0): Promise<ScriptedHub> {
  const h = new ScriptedHub(cert, opts);
  hubs.push(h);
  await h.listen(port);
  return h;
}

interface Harness {
  agent: DeviceAgent;
  states: AgentState[];
  logs: string[];
}

function agentFor(address: string, extra: Partial<AgentOptions> = {}): Harness {
  const stateDir = mkdtempSync(join(tmpdir(), 'agent-test-'));
  dirs.push(stateDir);
  const states: AgentState[] = [];
  const logs: string[] = [];
  const agent = new DeviceAgent({
    hub: address,
    caPem: cert.certPem,
    stateDir,
    identity: () => ({ device_type: 'test-board', serial: 'T-1' }),
    inventory: () => ({ 'os.id': 'fleetos', hostname: 'box-1' }),
    backoff: { baseMs: 50, maxMs: 400 },
    log: (l) => logs.push(l),
    ...extra,
  });
  agent.on('state', (s: AgentState) => states.push(s));
  agents.push(agent);
  return { agent, states, logs };
}

function onlyDevice(h: ScriptedHub): { key: string; device: ScriptedHub['devices'] extends Map<string, infer D> ? D : never } {
  const [[key, device]] = [...h.devices];
  return { key, device };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('DeviceAgent', () => {
  it('waits as pending, then comes online with its identity, inventory and heartbeats', async () => {
    const h = await hub({ heartbeatIntervalMs: 50, retryAfterMs: 30 });
    const { agent, states, logs } = agentFor(h.address);
    agent.start();
    await waitFor('pending', () => agent.state === 'pending');
    await waitFor('several polls', () => h.enrollments >= 4);
    // Polling again and again is one situation: logged once.
    expect(logs.filter((l) => l.startsWith('pending')).length).toBe(1);
    const { key, device } = onlyDevice(h);
    expect(device.identity).toEqual({ device_type: 'test-board', serial: 'T-1' });
    expect(agent.deviceId).toBe(device.id);
    expect(key).toBe(agent.publicKey!.toString('hex'));

    h.setAdmission(key, 'accepted');
    await waitFor('online', () => agent.state === 'online');
    await waitFor('full inventory', () => device.reports.length === 1);
    expect(device.reports[0]).toEqual({ full: true, attributes: { 'os.id': 'fleetos', hostname: 'box-1' } });
    await waitFor('heartbeats', () => device.heartbeats >= 3);
    expect(states.slice(0, 2)).toEqual(['enrolling', 'pending']);
    // Known pending, it asks the hub to hold each later Enroll for a decision.
    expect(states.slice(2)).toEqual(['connecting', 'online']);
    // Each Enroll says the device can wait; the deadline allows it once it knows it is pending.
    expect(h.waits.every((w) => w.askedMs === 50_000)).toBe(true);
    expect(h.waits[0].deadlineInMs).toBeLessThanOrEqual(15_000);
    for (const w of h.waits.slice(1)) expect(w.deadlineInMs).toBeGreaterThan(50_000);
    expect(logs.at(-1)).toMatch(/^online as device dev-1 \(hub scripted-hub, heartbeat every 50 ms\)/);
  });

  it('sends only changed keys when the inventory changes, empty for removed ones', async () => {
    const h = await hub();
    const inventory: Record<string, string> = { a: '1', b: '2', c: '3' };
    const { agent } = agentFor(h.address, { inventory: () => ({ ...inventory }), inventoryIntervalMs: 40 });
    agent.start();
    await waitFor('enrolled', () => h.devices.size === 1);
    const { key, device } = onlyDevice(h);
    h.setAdmission(key, 'accepted');
    await waitFor('full inventory', () => device.reports.length === 1);
    await new Promise((r) => setTimeout(r, 150));
    expect(device.reports).toHaveLength(1); // nothing changed, nothing sent
    inventory.b = '20';
    delete inventory.c;
    inventory.d = '4';
    await waitFor('patch', () => device.reports.length === 2);
    expect(device.reports[1]).toEqual({ full: false, attributes: { b: '20', c: '', d: '4' } });
    expect(device.inventory).toEqual({ a: '1', b: '20', d: '4' });
  });

  it('refreshes its token before expiry and rides through the hub ending expired streams', async () => {
    const h = await hub({ tokenTtlMs: 400, heartbeatIntervalMs: 50 });
    const { agent, states } = agentFor(h.address);
    agent.start();
    await waitFor('enrolled', () => h.devices.size === 1);
    h.setAdmission(onlyDevice(h).key, 'accepted');
    await waitFor('online', () => agent.state === 'online');
    const connectsBefore = h.connects;
    await waitFor('three token lifetimes', () => h.connects >= connectsBefore + 3, 4_000);
    await waitFor('online again', () => agent.state === 'online');
    // Each stream ended with UNAUTHENTICATED at expiry, yet the agent already
    // held a fresh token: it reconnected at once, never backing off.
    expect(states).not.toContain('backoff');
    expect(h.enrollments).toBeGreaterThanOrEqual(4);
  });

  it('backs off while the hub is down, then enrolls; after a kill it reconnects and re-enrolls for a token', async () => {
    const port = await freePort();
    const { agent, states, logs } = agentFor(`127.0.0.1:${port}`);
    agent.start();
    await waitFor('backoff', () => agent.state === 'backoff');
    expect(logs[logs.length - 1]).toMatch(/^enrollment failed \(UNAVAILABLE: .*\); retrying with backoff$/);
    await new Promise((r) => setTimeout(r, 500));
    expect(logs.filter((l) => l.startsWith('enrollment failed')).length).toBe(1);

    const h = await hub({}, port);
    await waitFor('pending', () => agent.state === 'pending', 3_000);
    h.setAdmission(onlyDevice(h).key, 'accepted');
    await waitFor('online', () => agent.state === 'online');

    // kill -9: every connection drops; the restarted hub forgot all tokens.
    const logsBefore = logs.length;
    h.kill();
    h.revokeTokens();
    await waitFor('backoff after kill', () => agent.state === 'backoff');
    expect(logs[logsBefore]).toMatch(/^connection lost \(UNAVAILABLE/);
    const enrollmentsBefore = h.enrollments;
    states.length = 0;
    await h.listen(port);
    await waitFor('online after restart', () => agent.state === 'online', 3_000);
    expect(states).toContain('enrolling');
    expect(h.enrollments).toBe(enrollmentsBefore + 1);
  });

  it('reconnects after a restart with its saved token: one Connect, no enrollment', async () => {
    const h = await hub();
    const first = agentFor(h.address);
    first.agent.start();
    await waitFor('enrolled', () => h.devices.size === 1);
    h.setAdmission(onlyDevice(h).key, 'accepted');
    await waitFor('online', () => first.agent.state === 'online');
    await first.agent.stop();
    const stateDir = first.agent['opts'].stateDir;
    // A bearer credential: readable by the agent only, like identity.key.
    expect(statSync(join(stateDir, TOKEN_FILE)).mode & 0o777).toBe(0o600);

    const enrollments = h.enrollments;
    const connects = h.connects;
    const second = agentFor(h.address, { stateDir });
    second.agent.start();
    await waitFor('online again', () => second.agent.state === 'online');
    expect(h.enrollments).toBe(enrollments);
    expect(h.connects).toBe(connects + 1);
    expect(second.states).not.toContain('enrolling');
  });

  it('enrolls again when the hub refuses the saved token, and saves the new one', async () => {
    const h = await hub();
    const first = agentFor(h.address);
    first.agent.start();
    await waitFor('enrolled', () => h.devices.size === 1);
    h.setAdmission(onlyDevice(h).key, 'accepted');
    await waitFor('online', () => first.agent.state === 'online');
    await first.agent.stop();
    const stateDir = first.agent['opts'].stateDir;
    const oldToken = readFileSync(join(stateDir, TOKEN_FILE), 'utf8');
    h.revokeTokens();

    const enrollments = h.enrollments;
    const second = agentFor(h.address, { stateDir });
    second.agent.start();
    await waitFor('online again', () => second.agent.state === 'online');
    expect(h.enrollments).toBe(enrollments + 1);
    expect(second.states).not.toContain('backoff');
    await second.agent.stop();
    expect(readFileSync(join(stateDir, TOKEN_FILE), 'utf8')).not.toBe(oldToken);
  });

  it('trusts only the exact hub certificate it was given', async () => {
    const h = new ScriptedHub(otherCert);
    hubs.push(h);
    await h.listen();
    const { agent, logs } = agentFor(h.address);
    agent.start();
    await waitFor('backoff', () => agent.state === 'backoff');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.enrollments).toBe(0);
    expect(agent.state).not.toBe('pending');
    expect(logs.join('\n')).toMatch(/enrollment failed \(UNAVAILABLE: .*self-signed certificate.* — the hub presented a certificate other than the trusted one/);
  });

  it('refuses a hub certificate that merely chains to the trusted one', async () => {
    // OpenSSL accepts this chain; only the fingerprint pin tells them apart.
    const h = new ScriptedHub(makeTestCertificate(cert));
    hubs.push(h);
    await h.listen();
    const { agent, logs } = agentFor(h.address);
    agent.start();
    await waitFor('backoff', () => agent.state === 'backoff');
    expect(h.enrollments).toBe(0);
    expect(logs.join('\n')).toMatch(/hub certificate [0-9A-F:]{95} is not the trusted [0-9A-F:]{95}/);
  });

  it('shows a rejection clearly and comes online if an operator accepts it later', async () => {
    const h = await hub();
    const { agent, logs } = agentFor(h.address);
    agent.start();
    await waitFor('enrolled', () => h.devices.size === 1);
    const { key } = onlyDevice(h);
    h.setAdmission(key, 'rejected');
    await waitFor('rejected', () => agent.state === 'rejected');
    expect(logs.some((l) => l.startsWith('REJECTED: the hub refused device dev-1'))).toBe(true);
    h.setAdmission(key, 'accepted');
    await waitFor('online', () => agent.state === 'online', 3_000);
  });

  it('goes back to enrollment when the hub refuses the stream, without hammering it', async () => {
    const h = await hub({ denyConnect: true });
    const { agent, states, logs } = agentFor(h.address);
    agent.start();
    await waitFor('enrolled', () => h.devices.size === 1);
    h.setAdmission(onlyDevice(h).key, 'accepted');
    await waitFor('several refusals', () => h.connects >= 3, 3_000);
    expect(states).toContain('backoff');
    expect(logs.filter((l) => l.startsWith('device not accepted (PERMISSION_DENIED')).length).toBe(1);
    h.opts.denyConnect = false;
    await waitFor('online', () => agent.state === 'online', 3_000);
  });

  it('stops promptly in any state and closes its stream', async () => {
    const h = await hub();
    const pending = agentFor(h.address);
    pending.agent.start();
    await waitFor('pending', () => pending.agent.state === 'pending');
    const online = agentFor(h.address);
    online.agent.start();
    await waitFor('second device', () => h.devices.size === 2);
    h.setAdmission([...h.devices.keys()][1], 'accepted');
    await waitFor('online', () => online.agent.state === 'online');
    const down = agentFor(`127.0.0.1:${await freePort()}`, { backoff: { baseMs: 60_000, maxMs: 60_000 } });
    down.agent.start();
    await waitFor('backoff', () => down.agent.state === 'backoff');

    const t0 = Date.now();
    await Promise.all([pending.agent.stop(), online.agent.stop(), down.agent.stop()]);
    expect(Date.now() - t0).toBeLessThan(1_000);
    for (const a of [pending, online, down]) expect(a.agent.state).toBe('stopped');
    await waitFor('stream closed on the hub', () => h.openStreams === 0);
  });
});
