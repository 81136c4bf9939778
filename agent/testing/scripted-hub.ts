import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ChannelFrame as ChannelFrameCodec, type ChannelFrame, type ChannelOpen } from '../../proto/gen/fleet/v1/channel';
import { AdmissionStatus } from '../../proto/gen/fleet/v1/common';
import {
  DeviceServiceService,
  type ChannelAnswer,
  type DeploymentCommand,
  type DeviceMessage,
  type DeviceServiceServer,
  type DownloadChunk,
  type DownloadRequest,
  type HubMessage,
  type InventoryReport,
  type UpdateReport,
} from '../../proto/gen/fleet/v1/device';
import { enrollPayload } from '../../proto/enroll-payload';
import { encodeLine, readArtifactRequest } from '../../proto/artifact-wire';
import { listenShared, type SharedPort } from '../../proto/shared-port';
import { serveStreamSocket, type StreamMethod } from '../../proto/stream-server-call';

// A small DeviceService for the agent's own tests: real TLS gRPC, real
// signature checks, and admission and token lifetimes the test controls, so
// each agent path (pending, rejected, expiry, refusal, hub restart) can be
// driven on purpose. For updates it serves Download from artifacts the test
// adds, keeps every UpdateReport, and sends deployment commands (after each
// Hello, like the real hub) and aborts. The real hub is exercised in
// tests/system.

export type Admission = 'pending' | 'accepted' | 'rejected';

export interface ScriptedHubOptions {
  tokenTtlMs?: number;
  heartbeatIntervalMs?: number;
  retryAfterMs?: number;
  /** Refuse Connect with PERMISSION_DENIED even for a valid token. */
  denyConnect?: boolean;
  /** Download chunk size (default 256 KiB, the real hub's maximum). */
  chunkSize?: number;
  /** Called before each chunk is sent: return true to break the stream there (UNAVAILABLE). */
  cutDownload?: (offset: number) => boolean;
}

export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

/**
 * A P-256 certificate for CN/SAN fleet-hub, like the hub's own (made by
 * openssl): self-signed, or issued by `issuer` (a certificate that chains to a
 * trusted one but is not it).
 */
export function makeTestCertificate(issuer?: TestCertificate): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'agent-cert-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=fleet-hub', '-keyout', file('key.pem')];
  try {
    if (!issuer) {
      openssl('req', '-x509', ...ec, '-days', '2', '-addext', 'subjectAltName=DNS:fleet-hub', '-out', file('cert.pem'));
    } else {
      writeFileSync(file('ca.pem'), issuer.certPem);
      writeFileSync(file('ca.key'), issuer.keyPem);
      writeFileSync(file('ext.cnf'), 'subjectAltName=DNS:fleet-hub\n');
      openssl('req', '-new', ...ec, '-out', file('req.csr'));
      openssl('x509', '-req', '-in', file('req.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('ext.cnf'), '-out', file('cert.pem'));
    }
    return { certPem: readFileSync(file('cert.pem'), 'utf8'), keyPem: readFileSync(file('key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Device {
  id: string;
  admission: Admission;
  identity: Record<string, string>;
  inventory: Record<string, string>;
  reports: InventoryReport[];
  heartbeats: number;
  /** Every update report, in arrival order. */
  updates: UpdateReport[];
  /** Sent after every Hello, as the real hub sends the oldest unfinished deployment. */
  command?: DeploymentCommand;
  stream?: grpc.ServerDuplexStream<DeviceMessage, HubMessage>;
  /** Every ChannelAnswer, in arrival order. */
  channelAnswers: ChannelAnswer[];
}

/** The hub's end of a Channel call the device dialled back. */
export type ChannelCall = grpc.ServerDuplexStream<ChannelFrame, ChannelFrame>;

interface ChannelWait {
  deviceKey: string;
  answer: Promise<ChannelAnswer>;
  answered: (a: ChannelAnswer) => void;
  call: Promise<ChannelCall>;
  dialled: (c: ChannelCall) => void;
  used: boolean;
}

export class ScriptedHub {
  readonly devices = new Map<string, Device>();
  enrollments = 0;
  connects = 0;
  /** fleet-wait-ms asked on each Enroll (0 when absent), and the time left to its deadline. */
  readonly waits: { askedMs: number; deadlineInMs: number }[] = [];
  /** Client address:port of every accepted control stream. */
  readonly peers = new Set<string>();
  address = '';
  readonly artifacts = new Map<string, Buffer>();
  readonly downloads: DownloadRequest[] = [];
  /** Artifact bytes sent by Download, all calls together. */
  bytesServed = 0;
  private server?: grpc.Server;
  private listener?: SharedPort;
  private readonly nonces = new Set<string>();
  private readonly tokens = new Map<string, { keyHex: string; expires: number }>();
  private readonly streams = new Set<grpc.ServerDuplexStream<DeviceMessage, HubMessage>>();
  private readonly channels = new Map<string, ChannelWait>();
  private channelSeq = 0;

  /** Streams open right now. */
  get openStreams(): number {
    return this.streams.size;
  }

  constructor(
    private readonly cert: TestCertificate,
    public opts: ScriptedHubOptions = {},
  ) {}

  /** Starts listening; port 0 picks one, a known port restarts "the same hub". */
  async listen(port = 0): Promise<string> {
    const server = new grpc.Server();
    const handlers = this.handlers();
    server.addService(DeviceServiceService, handlers);
    // Channel calls come on the bare stream (proto/stream-wire.ts), as on the real hub.
    const streams = new Map<string, StreamMethod>([
      [
        DeviceServiceService.channel.path,
        { deserialize: (b) => ChannelFrameCodec.decode(b), serialize: (v) => Buffer.from(ChannelFrameCodec.encode(v as ChannelFrame).finish()), handle: (call) => handlers.channel(call as unknown as ChannelCall) },
      ],
    ]);
    // One TLS port for gRPC, the artifact byte stream and the channel streams, as on the real hub.
    this.listener = await listenShared({
      host: '127.0.0.1',
      port,
      certPem: this.cert.certPem,
      keyPem: this.cert.keyPem,
      grpcServer: server,
      artifacts: (socket) => void this.serveArtifactStream(socket),
      streams: (socket) => serveStreamSocket(socket, streams),
    });
    this.server = server;
    this.address = `127.0.0.1:${this.listener.port}`;
    return this.address;
  }

  /** Drops every connection at once, like a killed process. */
  kill(): void {
    this.streams.clear();
    this.server?.forceShutdown();
    this.server = undefined;
    void this.listener?.stopListening();
    this.listener?.destroy();
    this.listener = undefined;
  }

  /** The hub's artifact stream (proto/artifact-wire.ts), with the same token check, download log and cuts as Download. */
  private async serveArtifactStream(socket: TLSSocket): Promise<void> {
    const fail = (code: string, message: string): void => void socket.end(encodeLine({ code, message }));
    let got: Awaited<ReturnType<typeof readArtifactRequest>>;
    try {
      got = await readArtifactRequest(socket, 10_000);
    } catch (err) {
      return fail('INVALID_ARGUMENT', (err as Error).message);
    }
    const { request, credit } = got;
    const entry = this.tokens.get(request.token);
    if (!entry || entry.expires <= Date.now()) return fail('UNAUTHENTICATED', 'token expired or unknown');
    const { artifactId, offset } = request;
    this.downloads.push({ artifactId, offset });
    const bytes = this.artifacts.get(artifactId);
    if (!bytes) return fail('NOT_FOUND', `no artifact ${artifactId}`);
    if (!(offset >= 0 && offset <= bytes.length)) return fail('OUT_OF_RANGE', `offset ${offset} is past the end`);
    socket.write(encodeLine({ offset, totalSize: bytes.length }));
    const size = this.opts.chunkSize ?? 256 * 1024;
    try {
      for (let pos = offset; pos < bytes.length; ) {
        const allowed = await credit.room();
        if (socket.destroyed) return;
        // A cut takes the whole connection, as a dropped link would.
        if (this.opts.cutDownload?.(pos)) return void socket.destroy();
        const data = bytes.subarray(pos, Math.min(bytes.length, pos + size, pos + allowed));
        credit.take(data.length);
        pos += data.length;
        this.bytesServed += data.length;
        if (!socket.write(data)) await new Promise((r) => socket.once('drain', r).once('close', r));
      }
      socket.end();
    } catch {
      socket.destroy();
    }
  }

  setAdmission(keyHex: string, admission: Admission): void {
    this.devices.get(keyHex)!.admission = admission;
  }

  /** A device token the hub accepts, for tests that call the hub without an agent. */
  issueToken(ttlMs = 60_000): string {
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, { keyHex: 'test', expires: Date.now() + ttlMs });
    return token;
  }

  /** Makes an artifact downloadable; returns its id (sha256 hex). */
  addArtifact(bytes: Buffer): string {
    const id = createHash('sha256').update(bytes).digest('hex');
    this.artifacts.set(id, bytes);
    return id;
  }

  /** The device with this hub id (dev-N). */
  device(id: string): Device {
    const device = [...this.devices.values()].find((d) => d.id === id);
    if (!device) throw new Error(`no device ${id}`);
    return device;
  }

  /** Orders a deployment: sent now if the device is online, and after every Hello. */
  deploy(deviceId: string, command: DeploymentCommand): void {
    const device = this.device(deviceId);
    device.command = command;
    device.stream?.write({ msg: { $case: 'deployment', deployment: command } });
  }

  /** Sends a hub message on the device's stream; false when it is offline. */
  sendTo(deviceId: string, msg: HubMessage): boolean {
    const stream = this.device(deviceId).stream;
    stream?.write(msg);
    return !!stream;
  }

  /**
   * Asks the device for a channel (HubMessage.channelRequest). `answer`
   * resolves with its ChannelAnswer; `call` with the Channel call it dials
   * back (only when accepted).
   */
  requestChannel(deviceId: string, open: ChannelOpen, channelId = `ch-${++this.channelSeq}`): { channelId: string; answer: Promise<ChannelAnswer>; call: Promise<ChannelCall> } {
    const device = this.device(deviceId);
    const deviceKey = [...this.devices.entries()].find(([, d]) => d === device)![0];
    let answered!: (a: ChannelAnswer) => void;
    let dialled!: (c: ChannelCall) => void;
    const answer = new Promise<ChannelAnswer>((r) => (answered = r));
    const call = new Promise<ChannelCall>((r) => (dialled = r));
    this.channels.set(channelId, { deviceKey, answer, answered, call, dialled, used: false });
    if (!this.sendTo(deviceId, { msg: { $case: 'channelRequest', channelRequest: { channelId, open } } })) throw new Error(`device ${deviceId} is offline`);
    return { channelId, answer, call };
  }

  /** The update report with the highest seq for a deployment (what the real hub keeps). */
  latestUpdate(deviceId: string, deploymentId: string): UpdateReport | undefined {
    let best: UpdateReport | undefined;
    for (const r of this.device(deviceId).updates) if (r.deploymentId === deploymentId && (!best || r.seq > best.seq)) best = r;
    return best;
  }

  /** Forgets every token, as a hub whose token key changed would. */
  revokeTokens(): void {
    this.tokens.clear();
  }

  private handlers(): DeviceServiceServer {
    return {
      challenge: (_call, cb) => {
        const nonce = randomBytes(16).toString('hex');
        this.nonces.add(nonce);
        cb(null, { nonce, expiresMs: Date.now() + 60_000 });
      },
      enroll: (call, cb) => {
        const req = call.request;
        if (!this.nonces.delete(req.nonce)) return cb({ code: grpc.status.UNAUTHENTICATED, details: 'unknown or used nonce' });
        const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), req.publicKey]);
        const ok = verify(null, enrollPayload(req.nonce, req.publicKey, req.identity), createPublicKey({ key: spki, format: 'der', type: 'spki' }), req.signature);
        if (!ok) return cb({ code: grpc.status.UNAUTHENTICATED, details: 'bad signature' });
        this.enrollments++;
        const deadline = call.getDeadline();
        this.waits.push({ askedMs: Number(call.metadata.get('fleet-wait-ms')[0] ?? 0), deadlineInMs: (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now() });
        const keyHex = req.publicKey.toString('hex');
        let device = this.devices.get(keyHex);
        if (!device) {
          device = { id: `dev-${this.devices.size + 1}`, admission: 'pending', identity: req.identity, inventory: {}, reports: [], heartbeats: 0, updates: [], channelAnswers: [] };
          this.devices.set(keyHex, device);
        }
        const status = { pending: AdmissionStatus.ADMISSION_STATUS_PENDING, accepted: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, rejected: AdmissionStatus.ADMISSION_STATUS_REJECTED }[device.admission];
        if (device.admission !== 'accepted') return cb(null, { deviceId: device.id, status, token: '', tokenExpiresMs: 0, retryAfterMs: this.opts.retryAfterMs ?? 50 });
        const token = randomBytes(16).toString('hex');
        const expires = Date.now() + (this.opts.tokenTtlMs ?? 3_600_000);
        this.tokens.set(token, { keyHex, expires });
        cb(null, { deviceId: device.id, status, token, tokenExpiresMs: expires, retryAfterMs: 0 });
      },
      connect: (call) => {
        this.connects++;
        const token = /^Bearer (.+)$/.exec(String(call.metadata.get('authorization')[0] ?? ''))?.[1];
        const entry = token ? this.tokens.get(token) : undefined;
        if (!entry || entry.expires <= Date.now()) return endWith(call, grpc.status.UNAUTHENTICATED, 'token expired or unknown');
        const device = this.devices.get(entry.keyHex)!;
        if (device.admission !== 'accepted' || this.opts.denyConnect) return endWith(call, grpc.status.PERMISSION_DENIED, 'device not accepted');
        this.streams.add(call);
        this.peers.add(call.getPeer());
        device.stream = call;
        // A token that runs out ends the stream, as the real hub does.
        const expiry = setTimeout(() => endWith(call, grpc.status.UNAUTHENTICATED, 'token expired'), entry.expires - Date.now());
        const done = (): void => {
          clearTimeout(expiry);
          this.streams.delete(call);
          if (device.stream === call) device.stream = undefined;
        };
        call.on('finish', done);
        call.on('cancelled', done);
        call.on('data', (msg: DeviceMessage) => {
          if (msg.msg?.$case === 'heartbeat') {
            device.heartbeats++;
            call.write({ msg: { $case: 'heartbeatAck', heartbeatAck: msg.msg.heartbeat } });
          } else if (msg.msg?.$case === 'inventory') {
            const inv = msg.msg.inventory;
            device.reports.push(inv);
            if (inv.full) device.inventory = { ...inv.attributes };
            else for (const [k, v] of Object.entries(inv.attributes)) if (v === '') delete device.inventory[k];
            else device.inventory[k] = v;
          } else if (msg.msg?.$case === 'update') {
            device.updates.push(msg.msg.update);
          } else if (msg.msg?.$case === 'channelAnswer') {
            const answer = msg.msg.channelAnswer;
            device.channelAnswers.push(answer);
            this.channels.get(answer.channelId)?.answered(answer);
          }
        });
        call.on('end', () => call.end());
        call.write({ msg: { $case: 'hello', hello: { deviceId: device.id, hubId: 'scripted-hub', heartbeatIntervalMs: this.opts.heartbeatIntervalMs ?? 100 } } });
        if (device.command) call.write({ msg: { $case: 'deployment', deployment: device.command } });
      },
      download: (call) => {
        const token = /^Bearer (.+)$/.exec(String(call.metadata.get('authorization')[0] ?? ''))?.[1];
        const entry = token ? this.tokens.get(token) : undefined;
        if (!entry || entry.expires <= Date.now()) return call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'token expired or unknown' });
        const { artifactId, offset } = call.request;
        this.downloads.push({ artifactId, offset });
        const bytes = this.artifacts.get(artifactId);
        if (!bytes) return call.emit('error', { code: grpc.status.NOT_FOUND, details: `no artifact ${artifactId}` });
        if (offset < 0 || offset > bytes.length) return call.emit('error', { code: grpc.status.OUT_OF_RANGE, details: `offset ${offset} is past the end` });
        const size = this.opts.chunkSize ?? 256 * 1024;
        let pos = offset;
        const pump = (): void => {
          while (pos < bytes.length) {
            if (call.cancelled) return;
            if (this.opts.cutDownload?.(pos)) return void call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'connection cut by the test' });
            const data = bytes.subarray(pos, Math.min(bytes.length, pos + size));
            const chunk: DownloadChunk = { offset: pos, data, totalSize: bytes.length };
            pos += data.length;
            this.bytesServed += data.length;
            if (!call.write(chunk)) return void call.once('drain', pump);
          }
          call.end();
        };
        pump();
      },
      channel: (call) => {
        const token = /^Bearer (.+)$/.exec(String(call.metadata.get('authorization')[0] ?? ''))?.[1];
        const entry = token ? this.tokens.get(token) : undefined;
        if (!entry || entry.expires <= Date.now()) return call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'token expired or unknown' });
        const channelId = String(call.metadata.get('fleet-channel-id')[0] ?? '');
        const wait = this.channels.get(channelId);
        // Like the real hub: an unknown or foreign channel id is NOT_FOUND; each id is dialled once.
        // The dial may arrive before the answer on the control stream (two
        // HTTP/2 streams, no order between them): the dial is what pairs.
        if (!wait || wait.deviceKey !== entry.keyHex || wait.used) return call.emit('error', { code: grpc.status.NOT_FOUND, details: `no channel ${channelId} for this device` });
        wait.used = true;
        wait.dialled(call);
      },
    };
  }
}

/** Ends a server stream with a status (grpc-js sends it from the 'error' path). */
function endWith(call: grpc.ServerDuplexStream<DeviceMessage, HubMessage>, code: grpc.status, details: string): void {
  call.emit('error', { code, details });
}
