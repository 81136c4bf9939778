import * as grpc from '@grpc/grpc-js';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdmissionStatus } from '../../proto/gen/fleet/v1/common';
import type { ConsoleServiceClient, ListAuditRequest, ListSessionsRequest } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient } from '../../proto/gen/fleet/v1/device';
import { asciinemaCat } from '../testing/asciinema';
import { closeFrame, dataFrame, shellOpen, windowFrame } from '../testing/channel-clients';
import { bearer, call, consoleClient, deviceClient, eventually, rejection } from '../testing/grpc-clients';
import { pairChannel } from '../testing/remote-fixtures';
import { startTestHub, type TestHub } from '../testing/test-hub';

// ListSessions, CloseSession, GetRecording and ListAudit on a real hub, with
// sessions made through the relay.

let t: TestHub;
let devices: DeviceServiceClient;
let consoles: ConsoleServiceClient;
let vera: string;
let otto: string;
let olga: string;

const RECORDING_CAP = 8192;

beforeAll(async () => {
  t = await startTestHub({ recordingMaxBytes: RECORDING_CAP });
  devices = deviceClient(t.hub);
  consoles = consoleClient(t.hub);
  vera = (await t.hub.store.createOperator('vera', 'viewer', 'test')).token;
  otto = (await t.hub.store.createOperator('otto', 'operator', 'test')).token;
  olga = (await t.hub.store.createOperator('olga', 'operator', 'test')).token;
});

afterAll(async () => {
  devices?.close();
  consoles?.close();
  await t?.dispose();
});

const clients = () => ({ t, devices, consoles });
const admin = () => t.hub.adminToken;
const listSessions = (token: string, req: Partial<ListSessionsRequest> = {}) =>
  call(consoles, consoles.listSessions, { deviceId: '', kind: '', openOnly: false, pageSize: 0, pageToken: '', ...req }, bearer(token));
const listAudit = (token: string, req: Partial<ListAuditRequest> = {}) =>
  call(consoles, consoles.listAudit, { beforeRevision: 0, limit: 0, kindPrefix: '', subject: '', ...req }, bearer(token));
const closeSession = (token: string, id: string) => call(consoles, consoles.closeSession, { id }, bearer(token));

function getRecording(token: string, sessionId: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stream = consoles.getRecording({ sessionId }, bearer(token));
    stream.on('data', (c: { data: Buffer }) => chunks.push(c.data));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

async function endedSession(id: string) {
  return eventually(async () => {
    const s = (await listSessions(vera)).sessions.find((x) => x.id === id);
    return s?.endedMs ? s : undefined;
  }, 5000, `session ${id} to end`);
}

describe('recordings', () => {
  it('records a shell as asciicast v2 that asciinema plays back; viewers may not fetch it', async () => {
    const { console, dev, started } = await pairChannel(clients(), otto, shellOpen({ cols: 90, rows: 20 }));
    console.send(windowFrame(1 << 20));
    dev.send(windowFrame(1 << 20));
    await dev.next();
    const output = Buffer.from('$ echo grüße\r\ngrüße\r\n$ ', 'utf8');
    // 'ü' cut between two frames.
    const cut = output.indexOf(Buffer.from('ü')) + 1;
    dev.send(dataFrame(output.subarray(0, cut)));
    dev.send(dataFrame(output.subarray(cut)));
    console.send({ $case: 'resize', resize: { cols: 132, rows: 43 } });
    await dev.until('resize');
    dev.send({ $case: 'exit', exit: { code: 0 } });
    dev.send(closeFrame('exit'));
    await console.until('close');
    const session = await endedSession(started.sessionId);
    expect(session).toMatchObject({ kind: 'shell', endReason: 'exit 0', recordingTruncated: false, bytesFromDevice: output.length });

    const cast = await getRecording(otto, started.sessionId);
    expect(cast.length).toBe(session.recordingBytes);
    const [header, ...events] = cast.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(header).toMatchObject({ version: 2, width: 90, height: 20, env: { TERM: 'xterm-256color' } });
    expect(events.filter((e) => e[1] === 'r')).toEqual([[expect.any(Number), 'r', '132x43']]);
    const file = join(t.dir, 'fetched.cast');
    writeFileSync(file, cast);
    expect(asciinemaCat(file)).toBe(output.toString('utf8'));

    const denied = await rejection(getRecording(vera, started.sessionId));
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect((await rejection(getRecording(otto, 'no-such-session'))).code).toBe(grpc.status.NOT_FOUND);
  });

  it('stops recording at the cap and marks the session truncated; the relay goes on', async () => {
    const { console, dev, started } = await pairChannel(clients(), otto, shellOpen({ command: 'yes' }));
    expect(started.recorded).toBe(true);
    console.send(windowFrame(1 << 20));
    await dev.next();
    const line = Buffer.from('y\n'.repeat(512));
    for (let i = 0; i < 32; i++) dev.send(dataFrame(line));
    dev.send({ $case: 'exit', exit: { code: 0 } });
    dev.send(closeFrame('exit'));
    const frames = await console.until('close');
    const relayed = frames.reduce((n, f) => n + (f.frame?.$case === 'data' ? f.frame.data.length : 0), 0);
    expect(relayed).toBe(32 * line.length);
    const session = await endedSession(started.sessionId);
    expect(session).toMatchObject({ kind: 'command', detail: 'yes', recordingTruncated: true });
    expect(session.recordingBytes).toBeLessThanOrEqual(RECORDING_CAP);
    expect((await getRecording(otto, started.sessionId)).length).toBe(session.recordingBytes);
  });

  it('does not record port forwards', async () => {
    const { console, started } = await pairChannel(clients(), otto, { kind: { $case: 'portForward', portForward: { host: '127.0.0.1', port: 8080 } } });
    expect(started.recorded).toBe(false);
    console.send(closeFrame('done'));
    const session = await endedSession(started.sessionId);
    expect(session).toMatchObject({ kind: 'port-forward', detail: '127.0.0.1:8080', recordingBytes: undefined });
    expect((await rejection(getRecording(otto, started.sessionId))).code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('sessions', () => {
  it('lists sessions newest first for any role, with filters and pages', async () => {
    const a = await pairChannel(clients(), otto, { kind: { $case: 'file', file: { op: 'list', path: '/data' } } });
    const b = await pairChannel(clients(), olga, shellOpen());
    const all = await listSessions(vera, { pageSize: 1 });
    expect(all.sessions.map((s) => s.id)).toEqual([b.started.sessionId]);
    const second = await listSessions(vera, { pageSize: 1, pageToken: all.nextPageToken });
    expect(second.sessions.map((s) => s.id)).toEqual([a.started.sessionId]);
    expect(second.sessions[0]).toMatchObject({ deviceId: a.device.id, operator: 'otto', kind: 'file', detail: 'list /data', endedMs: undefined });
    expect((await listSessions(vera, { deviceId: a.device.id })).sessions.map((s) => s.id)).toEqual([a.started.sessionId]);
    expect((await listSessions(vera, { kind: 'file', openOnly: true })).sessions.map((s) => s.id)).toEqual([a.started.sessionId]);
    expect((await rejection(listSessions(vera, { kind: 'telnet' }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    a.console.cancel();
    b.console.cancel();
    await endedSession(a.started.sessionId);
    expect((await listSessions(vera, { deviceId: a.device.id, openOnly: true })).sessions).toEqual([]);
  });

  it('lets the opener or an admin close a session, nobody else', async () => {
    const { console, dev, started } = await pairChannel(clients(), otto);
    expect((await rejection(closeSession(vera, started.sessionId))).code).toBe(grpc.status.PERMISSION_DENIED);
    const other = await rejection(closeSession(olga, started.sessionId));
    expect(other.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(other.details).toMatch(/opened by "otto"/);
    const closed = await closeSession(otto, started.sessionId);
    expect(closed).toMatchObject({ id: started.sessionId, endReason: 'closed by otto' });
    expect(closed.endedMs).toBeGreaterThan(0);
    expect((await console.until('close')).at(-1)?.frame).toEqual(closeFrame('closed by otto'));
    expect((await dev.until('close')).at(-1)?.frame).toEqual(closeFrame('closed by otto'));
    expect((await console.status).code).toBe(grpc.status.OK);

    const byAdmin = await pairChannel(clients(), olga);
    expect(await closeSession(admin(), byAdmin.started.sessionId)).toMatchObject({ endReason: 'closed by admin' });
    // Closing an ended session returns it unchanged.
    expect(await closeSession(otto, started.sessionId)).toMatchObject({ endReason: 'closed by otto' });
  });

  it('ends the sessions of a device that is rejected', async () => {
    const { device, console, started } = await pairChannel(clients(), otto);
    await call(consoles, consoles.setAdmission, { status: AdmissionStatus.ADMISSION_STATUS_REJECTED, ids: [device.id], filter: undefined }, bearer(admin()));
    const frames = await console.until('close');
    expect(frames.find((f) => f.frame?.$case === 'error')?.frame).toMatchObject({ error: { code: 'device-offline' } });
    expect((await endedSession(started.sessionId)).endReason).toMatch(/^device-offline: device .* is now rejected/);
  });
});

describe('audit', () => {
  it('is for admins: newest first, paged by revision, filtered by kind prefix and subject', async () => {
    expect((await rejection(listAudit(otto))).code).toBe(grpc.status.PERMISSION_DENIED);
    const { device, console, started } = await pairChannel(clients(), otto);
    console.cancel();
    await endedSession(started.sessionId);

    const newest = await listAudit(admin(), { limit: 5 });
    const revisions = newest.entries.map((e) => e.revision);
    expect(revisions).toEqual([...revisions].sort((x, y) => y - x));
    const older = await listAudit(admin(), { limit: 5, beforeRevision: revisions.at(-1)! });
    expect(older.entries[0].revision).toBeLessThan(revisions.at(-1)!);

    const mine = await listAudit(admin(), { subject: device.id, kindPrefix: 'session.' });
    expect(mine.entries.map((e) => [e.kind, e.actor])).toEqual([
      ['session.closed', 'otto'],
      ['session.opened', 'otto'],
    ]);
    expect(JSON.parse(mine.entries[1].detailJson)).toMatchObject({ session: started.sessionId, kind: 'shell' });
    const deviceEvents = await listAudit(admin(), { subject: device.id, kindPrefix: 'device.' });
    expect(deviceEvents.entries.length).toBeGreaterThan(0);
    expect(deviceEvents.entries.every((e) => e.kind.startsWith('device.'))).toBe(true);
    expect(JSON.parse(deviceEvents.entries.at(-1)!.detailJson)).toHaveProperty('status');
  });
});

describe('hub restart', () => {
  it('closes sessions a killed hub left open', async () => {
    await t.hub.store.openSession({ id: 'orphan-1', deviceId: 'dev-x', operator: 'otto', kind: 'shell', detail: '', startedMs: Date.now(), recorded: false });
    await t.restart();
    const s = await t.hub.store.getSession('orphan-1');
    expect(s?.endedMs).toBeGreaterThan(0);
    expect(s?.endReason).toBe('the hub stopped while the session was open');
  });
});

describe('recording retention', () => {
  it('prunes at start: the file goes, the session stays listed saying why, GetRecording answers NOT_FOUND with the reason, the audit has it', async () => {
    // The hub restarted above (new port): clients for this one.
    devices.close();
    consoles.close();
    devices = deviceClient(t.hub);
    consoles = consoleClient(t.hub);
    const { console, dev, started } = await pairChannel(clients(), otto, shellOpen());
    console.send(windowFrame(1 << 20));
    await dev.next();
    dev.send(dataFrame('to be pruned\r\n'));
    dev.send({ $case: 'exit', exit: { code: 0 } });
    dev.send(closeFrame('exit'));
    await console.until('close');
    await endedSession(started.sessionId);
    const file = join(t.dir, 'recordings', `${started.sessionId}.cast`);
    expect(existsSync(file)).toBe(true);

    await new Promise((r) => setTimeout(r, 600));
    const hub = await t.restart({ recordingMaxAgeMs: 500 });
    const after = consoleClient(hub);
    try {
      const why = 'recording pruned by retention (older than 500 ms)';
      const listed = await eventually(async () => {
        const res = await call(after, after.listSessions, { deviceId: '', kind: 'shell', openOnly: false, pageSize: 1000, pageToken: '' }, bearer(otto));
        const s = res.sessions.find((x) => x.id === started.sessionId);
        return s?.endReason.includes(why) ? s : undefined;
      }, 5000, 'the session listed as pruned');
      expect(listed.endReason).toBe(`exit 0; ${why}`);
      expect(existsSync(file)).toBe(false);

      const err = await rejection(new Promise((resolve, reject) => {
        const stream = after.getRecording({ sessionId: started.sessionId }, bearer(otto));
        stream.on('data', () => undefined);
        stream.on('error', reject);
        stream.on('end', resolve);
      }));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      expect(err.details).toContain(why);

      const audit = await call(after, after.listAudit, { beforeRevision: 0, limit: 1000, kindPrefix: 'session.recording-pruned', subject: '' }, bearer(hub.adminToken));
      expect(audit.entries.map((e) => JSON.parse(e.detailJson).session)).toContain(started.sessionId);
    } finally {
      after.close();
    }
  });
});
