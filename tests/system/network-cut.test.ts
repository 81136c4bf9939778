import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIM_DEVICE_TYPE } from '../../agent/sim/sim-device';
import { SIM_ROOTFS_GROUP } from '../../agent/sim/sim-rootfs';
import { unary } from '../../src-main/services/hub-client/hub-connection';
import { Operator } from '../support/operator';
import { freePort, startHubProgram, startProgram, tempDir, waitFor, type HubProgram, type Program } from '../support/processes';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { createDeployment, generateSigningKey, uploadArtifact, waitForDeploymentEnd, writeRootfsArtifact, writeSimRootfsImage } from '../support/update-fixture';

// Network cut: a real fleet-hub process and one simulated device (a real
// `fleet-agent sim` process) that reaches the hub only through a TCP proxy.
// While the device downloads a signed 128 MiB rootfs artifact, the proxy
// resets every connection 10 times, spread over the download. The update must
// still end in success, the new slot must hold the image byte for byte, and
// the device must not fetch again what it already had: the bytes the proxy
// carried from the hub beyond the artifact's size (re-sent data, TLS, gRPC
// framing, the control stream) stay under 5% of the artifact.

const IMAGE_SIZE = 128 * 1024 * 1024;
const CUTS = 10;

const dirs = { hub: tempDir('netcut-hub'), sim: tempDir('netcut-sim'), work: tempDir('netcut-work') };
let hub: HubProgram;
let proxy: TcpProxy;
let sim: Program | undefined;
let operator: Operator;
let deviceId: string;
let imageSha: string;
let artifactId: string;
let artifactSize: number;

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Failure context: the proxy's and the hub's view, the device's sockets and its log. */
async function whatHappened(deploymentId: string, baseline: number, cutsBefore: number): Promise<string> {
  const log = await unary(operator.client, operator.client.getDeploymentLog, { deploymentId, deviceId }, operator.token).catch(() => ({ lines: [] }));
  const online = (await unary(operator.client, operator.client.getDevice, { id: deviceId }, operator.token)).online;
  const sockets = execFileSync('ss', ['-tnpa']).toString().split('\n').filter((l) => l.includes(`:${proxy.port}`) || l.includes(`pid=${sim?.child.pid},`));
  return [
    `proxy: ${proxy.bytesDown - baseline} bytes down since the deployment, ${proxy.cuts - cutsBefore} cuts, ${proxy.open} connections open; the hub says online=${online}`,
    `sockets:\n${sockets.join('\n')}`,
    `--- device log:\n${log.lines.join('\n')}`,
    `--- fleet-agent sim (tail):\n${sim?.output().slice(-12000)}`,
    `--- fleet-hub (tail):\n${hub.output().slice(-2000)}`,
  ].join('\n');
}

beforeAll(async () => {
  const key = generateSigningKey();
  const image = join(dirs.work.path, 'fleetos-2.0.0.img');
  imageSha = await writeSimRootfsImage(image, { version: '2.0.0', size: IMAGE_SIZE });
  const artifact = join(dirs.work.path, 'fleetos-2.0.0.fleet');
  await writeRootfsArtifact({ out: artifact, imageFile: image, name: SIM_ROOTFS_GROUP, group: SIM_ROOTFS_GROUP, version: '2.0.0', deviceType: DEFAULT_SIM_DEVICE_TYPE, key });
  artifactSize = statSync(artifact).size;

  mkdirSync(join(dirs.hub.path, 'trusted-keys'), { recursive: true });
  writeFileSync(join(dirs.hub.path, 'trusted-keys', 'release.pub'), key.publicKeyPem);
  const keyFile = join(dirs.work.path, 'release.pub');
  writeFileSync(keyFile, key.publicKeyPem);
  hub = await startHubProgram(dirs.hub.path, await freePort());
  operator = new Operator(hub.address, hub.adminToken, hub.certPem);
  artifactId = (await uploadArtifact(operator, artifact, artifactSize)).id;

  const [host, port] = hub.address.split(':');
  proxy = await startTcpProxy({ host, port: Number(port) });
  sim = startProgram('fleet-agent', ['sim', '--hub', proxy.address, '--ca', join(dirs.hub.path, 'hub.crt'), '--devices', '1', '--state', dirs.sim.path, '--artifact-key', keyFile, '--verbose']);
  await waitFor('the simulated device to enroll', async () => (await operator.allDevices()).length === 1, 30_000, 200);
  [deviceId] = await operator.acceptAllPending();
  await waitFor('the device online', async () => (await unary(operator.client, operator.client.getDevice, { id: deviceId }, operator.token)).online, 30_000, 200);
}, 120_000);

afterAll(async () => {
  await sim?.stop();
  await proxy?.close();
  operator?.close();
  await hub?.stop();
  Object.values(dirs).forEach((d) => d.remove());
}, 30_000);

describe('network cut during a download', () => {
  it('the proxy forwards, counts and cuts', async () => {
    const before = { accepted: proxy.accepted, cuts: proxy.cuts };
    const socket = connect(proxy.port, '127.0.0.1');
    const closed = new Promise((r) => socket.once('close', r));
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    await waitFor('the connection through the proxy', () => proxy.accepted === before.accepted + 1);
    expect(proxy.cut()).toBeGreaterThanOrEqual(1);
    await closed;
    expect(proxy.cuts).toBe(before.cuts + 1);
    // The device's own connection was cut too: it must come back by itself.
    await waitFor('the device back online', async () => (await unary(operator.client, operator.client.getDevice, { id: deviceId }, operator.token)).online, 30_000, 200);
  }, 40_000);

  it(`completes a ${IMAGE_SIZE / 2 ** 20} MiB update through ${CUTS} cuts, fetching less than 5% twice`, async () => {
    const started = Date.now();
    const baseline = proxy.bytesDown;
    const cutsBefore = proxy.cuts;
    proxy.scheduleCuts(Array.from({ length: CUTS }, (_, i) => baseline + Math.round(((i + 1) * artifactSize) / (CUTS + 1))));
    const deployment = await createDeployment(operator, { artifactId, deviceIds: [deviceId] });

    const detail = await waitForDeploymentEnd(operator, deployment.id, 80_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await whatHappened(deployment.id, baseline, cutsBefore)}`);
    });
    const device = detail.devices[0];
    expect(device, JSON.stringify(detail)).toMatchObject({ deviceId, status: 'success', reason: '', bytesDone: artifactSize, bytesTotal: artifactSize });
    expect(proxy.cuts - cutsBefore).toBe(CUTS);

    const slot = join(dirs.sim.path, 'dev-00001', 'slots', 'b.img');
    expect(statSync(slot).size).toBe(IMAGE_SIZE);
    expect(await sha256File(slot)).toBe(imageSha);

    const extra = proxy.bytesDown - baseline - artifactSize;
    const { lines } = await unary(operator.client, operator.client.getDeploymentLog, { deploymentId: deployment.id, deviceId }, operator.token);
    const interruptions = lines.filter((l) => /download interrupted/.test(l)).length;
    console.info(
      `network cut: ${CUTS} cuts, ${interruptions} interruptions logged, ${extra} bytes beyond the ${artifactSize}-byte artifact (${((extra / artifactSize) * 100).toFixed(2)}%), ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(extra).toBeGreaterThan(0);
    expect(extra / artifactSize).toBeLessThan(0.05);
    // The cuts hit the download itself, not only the control stream.
    expect(interruptions).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
