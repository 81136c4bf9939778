import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { enrollPayload } from '../../proto/enroll-payload';
import type {
  ChallengeRequest,
  ChallengeResponse,
  DeviceMessage,
  DeviceServiceServer,
  EnrollRequest,
  EnrollResponse,
} from '../../proto/gen/fleet/v1/device';
import { deviceIdFromKey, ED25519_KEY_BYTES, verifyEd25519 } from '../auth/device-key';
import type { ArtifactPaths } from '../artifacts/artifact-paths';
import { issueDeviceToken } from '../auth/device-token';
import { checkNonce, issueNonce } from '../auth/enroll-nonce';
import { statusToProto } from '../console/device-proto';
import type { DeploymentDispatcher } from '../deployments/deployment-dispatcher';
import { checkIdentity, checkInventory } from '../limits';
import { RpcError, toServiceError } from '../rpc-error';
import type { HubStore } from '../store/store';
import { requestedWaitMs, type AdmissionWaiters } from './admission-waiters';
import { authenticateDevice } from './device-auth';
import { endCall, type DeviceCall, type DeviceSession, type DeviceSessions } from './device-sessions';
import type { EnrollPacing } from './enroll-pacing';
import type { InventoryWriter } from './inventory-writer';
import type { PresenceWriter } from './presence-writer';
import { serveDownload, type DownloadCall } from './serve-download';
import { serveDeviceChannel } from '../remote/device-channel';
import type { RemoteHub } from '../remote/remote-hub';

export interface DeviceServiceContext {
  store: HubStore;
  sessions: DeviceSessions;
  presence: PresenceWriter;
  /** Inventory reports, written in batches. */
  inventory: InventoryWriter;
  tokenTtlMs: number;
  /** retry_after_ms for pending devices. */
  pacing: EnrollPacing;
  /** Held Enroll calls of pending devices that asked to wait. */
  waiters: AdmissionWaiters;
  heartbeatIntervalMs: number;
  /** Deployment commands, aborts and update reports. */
  deployments: DeploymentDispatcher;
  /** Where artifact files are (Download). */
  artifactPaths: ArtifactPaths;
  /** Remote sessions: channel answers and dialled-back channels. */
  remote: RemoteHub;
  log: (line: string) => void;
}

export function createDeviceService(ctx: DeviceServiceContext): DeviceServiceServer {
  return {
    challenge(_call: ServerUnaryCall<ChallengeRequest, ChallengeResponse>, callback: sendUnaryData<ChallengeResponse>) {
      callback(null, issueNonce(ctx.store.secret));
    },

    enroll(call: ServerUnaryCall<EnrollRequest, EnrollResponse>, callback: sendUnaryData<EnrollResponse>) {
      enroll(ctx, call).then(
        (res) => callback(null, res),
        (err) => callback(toServiceError(err, ctx.log, 'Enroll')),
      );
    },

    connect(call: DeviceCall) {
      void connect(ctx, call).catch((err) => {
        const e = toServiceError(err, ctx.log, 'Connect');
        endCall(call, e.code!, e.details!);
      });
    },

    download(call: DownloadCall) {
      serveDownload(ctx.store, ctx.artifactPaths, call).catch((err) => {
        const e = toServiceError(err, ctx.log, 'Download');
        if (!call.writableEnded && !call.cancelled) call.emit('error', { code: e.code, details: e.details });
      });
    },

    channel(call) {
      serveDeviceChannel(ctx.remote, call).catch((err) => {
        const e = toServiceError(err, ctx.log, 'Channel');
        if (!call.writableEnded && !call.cancelled) call.emit('error', e);
      });
    },
  };
}

async function enroll(ctx: DeviceServiceContext, call: ServerUnaryCall<EnrollRequest, EnrollResponse>): Promise<EnrollResponse> {
  const req = call.request;
  checkIdentity(req.identity);
  if (req.publicKey.length !== ED25519_KEY_BYTES) {
    throw new RpcError(status.INVALID_ARGUMENT, `public_key must be a raw ${ED25519_KEY_BYTES}-byte ed25519 key, got ${req.publicKey.length} bytes`);
  }
  if (req.signature.length !== 64) throw new RpcError(status.INVALID_ARGUMENT, `signature must be 64 bytes (ed25519), got ${req.signature.length}`);
  const nonce = checkNonce(ctx.store.secret, req.nonce);
  if (nonce === 'forged') throw new RpcError(status.UNAUTHENTICATED, 'enrollment nonce was not issued by this hub: call Challenge and sign the new nonce');
  if (nonce === 'expired') throw new RpcError(status.UNAUTHENTICATED, 'enrollment nonce expired: call Challenge again and sign the new nonce');
  if (!verifyEd25519(req.publicKey, enrollPayload(req.nonce, req.publicKey, req.identity), req.signature)) {
    throw new RpcError(status.UNAUTHENTICATED, 'enrollment signature does not verify with the presented public key: sign enrollPayload(nonce, public_key, identity)');
  }
  const id = deviceIdFromKey(req.publicKey);
  const wasPending = (await ctx.store.getDevice(id))?.status === 'pending';
  let device = await ctx.store.enrollDevice({ id, publicKey: req.publicKey, identity: req.identity }, `device:${id}`);
  const started = Date.now();
  // A device that can wait is held only from its second ask on, so its first
  // answer (and its log line "pending") comes at once.
  const canWait = requestedWaitMs(call.metadata, call.getDeadline(), started);
  const waitMs = device.status === 'pending' && wasPending ? canWait : 0;
  if (waitMs > 0) {
    const waiter = ctx.waiters.wait(id, waitMs);
    call.once('cancelled', waiter.cancel);
    // Read after registering: a decision committed in between shows here; a later one wakes the waiter.
    const now = await ctx.store.getDevice(id);
    if (now?.status !== 'pending') waiter.cancel();
    await waiter.done;
    call.off('cancelled', waiter.cancel);
    device = (await ctx.store.getDevice(id)) ?? device;
  }
  const res: EnrollResponse = { deviceId: id, status: statusToProto(device.status), token: '', tokenExpiresMs: 0, retryAfterMs: 0 };
  if (device.status === 'accepted') {
    const token = issueDeviceToken(ctx.store.secret, id, ctx.tokenTtlMs);
    res.token = token.token;
    res.tokenExpiresMs = token.expiresMs;
  } else if (device.status === 'pending') {
    res.retryAfterMs = await retryAfterMs(ctx, canWait > 0, waitMs > 0, Date.now() - started);
  }
  return res;
}

/** A device that can wait only pauses this long between held asks (less if enrollRetryMs is lower). */
const HOLD_AGAIN_AFTER_MS = 1000;

async function retryAfterMs(ctx: DeviceServiceContext, canWait: boolean, held: boolean, heldMs: number): Promise<number> {
  if (!canWait) return ctx.pacing.retryAfterMs(heldMs);
  const floor = Math.min(ctx.pacing.minRetryMs, HOLD_AGAIN_AFTER_MS);
  // Its first answer: its next ask will be held, costing one call per hold.
  if (!held) return floor;
  // Paced all the same, the hold counting toward the interval.
  return ctx.pacing.retryAfterMs(heldMs, Date.now(), floor);
}

async function connect(ctx: DeviceServiceContext, call: DeviceCall): Promise<void> {
  // Filled in once the device is authenticated; the stream may end before that.
  const state: { gone: boolean; session?: DeviceSession } = { gone: false };
  const onGone = () => {
    state.gone = true;
    if (state.session) ctx.sessions.finish(state.session, status.OK, 'stream closed', `device:${state.session.deviceId}`);
  };
  call.on('cancelled', onGone);
  call.on('error', onGone);
  // The device half-closed: answer by closing our side too.
  call.on('end', onGone);

  const device = await authenticateDevice(ctx.store, call.metadata);
  if (state.gone || call.cancelled) return;

  const current = ctx.sessions.open(device.id, call);
  state.session = current;
  call.write({ msg: { $case: 'hello', hello: { deviceId: device.id, hubId: ctx.store.hubId, heartbeatIntervalMs: ctx.heartbeatIntervalMs } } });
  call.on('data', (message: DeviceMessage) => {
    if (current.ended) return;
    const now = Date.now();
    current.lastActivityMs = now;
    ctx.presence.seen(current.deviceId, now);
    onDeviceMessage(ctx, current, message).catch((err) => {
      const e = toServiceError(err, ctx.log, 'Connect');
      ctx.sessions.finish(current, e.code!, e.details!, `device:${current.deviceId}`);
    });
  });
  ctx.deployments.afterHello(device.id).catch((err) => ctx.log(`could not send device ${device.id} its deployment: ${(err as Error).message}`));
}

async function onDeviceMessage(ctx: DeviceServiceContext, session: DeviceSession, message: DeviceMessage): Promise<void> {
  switch (message.msg?.$case) {
    case 'heartbeat':
      // A device that does not read its stream gets no more acks rather than
      // making the hub buffer them.
      if (!session.call.writableNeedDrain) session.call.write({ msg: { $case: 'heartbeatAck', heartbeatAck: message.msg.heartbeat } });
      return;
    case 'inventory': {
      const report = message.msg.inventory;
      checkInventory(report.attributes);
      ctx.inventory.add({ deviceId: session.deviceId, attributes: report.attributes, full: report.full, actor: `device:${session.deviceId}` });
      return;
    }
    case 'update':
      await ctx.deployments.onReport(session.deviceId, message.msg.update);
      return;
    case 'channelAnswer':
      ctx.remote.onAnswer(session.deviceId, message.msg.channelAnswer);
      return;
    default:
      // Unknown or empty message from a newer agent: it still counts as a sign of life.
      return;
  }
}

