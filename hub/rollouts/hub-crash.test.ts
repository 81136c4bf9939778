import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildArtifact, prng, randomBytes, testKeys } from '../../artifact/testing/fixtures';
import type { ConsoleServiceClient } from '../../proto/gen/fleet/v1/console';
import type { DeviceServiceClient, HubMessage } from '../../proto/gen/fleet/v1/device';
import { openControlStream, type ControlStream } from '../testing/control-stream';
import { enroll, makeDeviceKey, type DeviceKey } from '../testing/device-identity';
import { nextCommand, quiet, uploadBytes } from '../testing/fleet-fixtures';
import { bearer, call, consoleClient, deviceClient } from '../testing/grpc-clients';
import { runHubProcess, stopHubProcess, waitForListening, type HubProcess } from '../testing/hub-process';
import { deploymentRequest, sendReport } from '../testing/rollout-fleet';
import { makeTempDir } from '../testing/test-hub';

// The real fleet-hub program killed with SIGKILL in the middle of a phased,
// paused rollout: after the restart no device skips a pause, none is released
// twice for a stage it was not released for, no phase starts by itself.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Running {
  proc: HubProcess;
  devices: DeviceServiceClient;
  operators: ConsoleServiceClient;
}

async function runHub(dir: string): Promise<Running> {
  const proc = runHubProcess(['--data', dir, '--listen', '127.0.0.1:0']);
  cleanups.push(() => stopHubProcess(proc));
  const address = await waitForListening(proc);
  const endpoint = { address, certPem: readFileSync(join(dir, 'hub.crt'), 'utf8') };
  const running = { proc, devices: deviceClient(endpoint), operators: consoleClient(endpoint) };
  cleanups.push(() => {
    running.devices.close();
    running.operators.close();
  });
  return running;
}

const continueMsg = (deploymentId: string, stage: string): HubMessage['msg'] => ({ $case: 'deploymentContinue', deploymentContinue: { deploymentId, stage } });

describe('hub kill -9 during a paused, phased rollout', () => {
  it('keeps releases, statuses and waiting phases', async () => {
    const dir = makeTempDir('fleet-crash-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    let hub = await runHub(dir);
    const admin = bearer(readFileSync(join(dir, 'admin.token'), 'utf8').trim());
    const bytes = await buildArtifact({
      name: 'os',
      version: '9',
      deviceTypes: ['board'],
      compression: 'gzip',
      signingKey: testKeys()[0].privateKeyPem,
      payloads: [{ type: 'rootfs-image', name: 'rootfs.img', data: randomBytes(prng(9), 20_000) }],
    });
    const artifact = (await uploadBytes(hub.operators, admin, bytes)).artifact!;

    const keys: DeviceKey[] = [makeDeviceKey(), makeDeviceKey(), makeDeviceKey(), makeDeviceKey()];
    const ids: string[] = [];
    for (const key of keys) ids.push((await call(hub.operators, hub.operators.preauthorizeDevice, { publicKey: key.publicKey, identity: { device_type: 'board' } }, admin)).id);
    const connect = async (h: Running): Promise<ControlStream[]> => {
      const streams: ControlStream[] = [];
      for (const key of keys) {
        const s = openControlStream(h.devices, (await enroll(h.devices, key, { device_type: 'board' })).token);
        expect((await s.next()).msg?.$case).toBe('hello');
        streams.push(s);
        cleanups.push(() => s.call.cancel());
      }
      return streams;
    };
    let streams = await connect(hub);
    const dep = await call(
      hub.operators,
      hub.operators.createDeployment,
      deploymentRequest({ artifactId: artifact.id, deviceIds: ids }, { phases: [{ percent: 0, count: 3, startMs: 0, manual: false, successPercent: 0, maxFailures: undefined }, { percent: 0, count: 0, startMs: 0, manual: true, successPercent: 0, maxFailures: undefined }], pauseBefore: ['install', 'reboot'] }),
      admin,
    );
    const phases = new Map((await call(hub.operators, hub.operators.getDeployment, { id: dep.id }, admin)).devices.map((d) => [d.deviceId, d.phase]));
    const first = ids.map((id, i) => ({ id, i })).filter((d) => phases.get(d.id) === 1).map((d) => d.i);
    const waiting = ids.findIndex((id) => phases.get(id) === 2);
    const [atReboot, released, held] = first;
    for (const i of first) await nextCommand(streams[i]);
    expect(await quiet(streams[waiting], 200)).toBe(true);

    // atReboot: released for install, went on, waits before reboot.
    // released: released for install, its next report was lost in the crash.
    // held: waits before install, not released.
    sendReport(streams[atReboot], { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    sendReport(streams[released], { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    sendReport(streams[held], { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    await call(hub.operators, hub.operators.continueDeployment, { id: dep.id, stage: 'install', phase: 0, deviceIds: [ids[atReboot], ids[released]] }, admin);
    expect((await nextCommand(streams[atReboot])).msg).toEqual(continueMsg(dep.id, 'install'));
    expect((await nextCommand(streams[released])).msg).toEqual(continueMsg(dep.id, 'install'));
    sendReport(streams[atReboot], { deploymentId: dep.id, status: 'installing', seq: 3 });
    sendReport(streams[atReboot], { deploymentId: dep.id, status: 'paused-before-reboot', seq: 4 });
    // Answered heartbeat: the reports before it were taken in (maybe not yet written).
    streams[atReboot].send({ msg: { $case: 'heartbeat', heartbeat: { sentMs: 1 } } });
    expect((await streams[atReboot].next()).msg?.$case).toBe('heartbeatAck');

    hub.proc.child.kill('SIGKILL');
    await hub.proc.exited;
    await Promise.all(streams.map((s) => s.ended));

    hub = await runHub(dir);
    streams = await connect(hub);
    // After Hello the command again (not for the device of the waiting phase); agents re-send their current report.
    for (const i of first) expect((await nextCommand(streams[i])).msg).toMatchObject({ $case: 'deployment', deployment: { deploymentId: dep.id, pauseBeforeInstall: true, pauseBeforeReboot: true } });
    expect(await quiet(streams[waiting], 300)).toBe(true);
    sendReport(streams[atReboot], { deploymentId: dep.id, status: 'paused-before-reboot', seq: 4 });
    sendReport(streams[released], { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    sendReport(streams[held], { deploymentId: dep.id, status: 'paused-before-install', seq: 2 });
    expect((await nextCommand(streams[released])).msg).toEqual(continueMsg(dep.id, 'install'));
    expect(await quiet(streams[atReboot], 300)).toBe(true);
    expect(await quiet(streams[held], 100)).toBe(true);
    const after = await call(hub.operators, hub.operators.getDeployment, { id: dep.id }, admin);
    expect(after.deployment?.counts).toEqual({ 'paused-before-reboot': 1, 'paused-before-install': 2, pending: 1 });
    expect(after.history?.entries.map((e) => e.action)).toEqual(['created', 'continued']);

    // Going on from there works as before the crash.
    await call(hub.operators, hub.operators.continueDeployment, { id: dep.id, stage: 'reboot', phase: 1, deviceIds: [] }, admin);
    expect((await nextCommand(streams[atReboot])).msg).toEqual(continueMsg(dep.id, 'reboot'));
    expect((await nextCommand(streams[held])).msg).toEqual(continueMsg(dep.id, 'install'));
  }, 60_000);
});
