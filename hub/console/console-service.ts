import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { Device } from '../../proto/gen/fleet/v1/common';
import type {
  ConsoleServiceServer,
  DeviceFilter as ProtoDeviceFilter,
  GetDeviceRequest,
  ListArtifactsRequest,
  ListArtifactsResponse,
  ListDevicesRequest,
  ListDevicesResponse,
  PreauthorizeRequest,
  SetAdmissionRequest,
  SetAdmissionResponse,
  WhoAmIRequest,
  WhoAmIResponse,
} from '../../proto/gen/fleet/v1/console';
import { toProtoArtifact } from '../artifacts/artifact-proto';
import type { ArtifactPaths } from '../artifacts/artifact-paths';
import type { UploadCall } from '../artifacts/receive-upload';
import { uploadArtifact } from '../artifacts/upload-artifact';
import { deviceIdFromKey, ED25519_KEY_BYTES } from '../auth/device-key';
import { authenticateOperator, requireRole } from '../auth/operator-auth';
import type { DeploymentDispatcher } from '../deployments/deployment-dispatcher';
import { checkIdentity } from '../limits';
import { RpcError, toServiceError } from '../rpc-error';
import type { DeviceFilter, HubStore, Operator } from '../store/store';
import { systemClock, type Clock } from '../rollouts/clock';
import { deploymentRpcs } from './deployment-rpcs';
import { rolloutRpcs } from './rollout-rpcs';
import { roleToProto, statusFromProto, toProtoDevice } from './device-proto';
import { decodePageToken, encodePageToken } from './page-token';
import { serveWatch, type WatchCall, type WatchLimits } from './watch-stream';
import { serveConsoleChannel } from '../remote/console-channel';
import type { RemoteHub } from '../remote/remote-hub';
import { sessionRpcs, type RecordingCall } from '../remote/session-rpcs';

export interface ConsoleServiceContext {
  store: HubStore;
  hubVersion: string;
  watchLimits?: WatchLimits;
  /** Open Watch calls, so the hub can end them when it stops. */
  watchers: Set<WatchCall>;
  /** Where uploaded artifacts and trusted keys live. */
  artifactPaths: ArtifactPaths;
  /** Sends deployment commands and aborts to connected devices. */
  deployments: DeploymentDispatcher;
  log: (line: string) => void;
  /** The time rollouts go by (maintenance windows); tests move it. */
  clock?: Clock;
  /** Remote sessions: pairing, relays, recordings (hub/remote). */
  remote: RemoteHub;
}

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

type Handler<Req, Res> = (operator: Operator, req: Req) => Promise<Res>;

export function createConsoleService(ctx: ConsoleServiceContext): ConsoleServiceServer {
  const { store } = ctx;

  /** Authenticates, runs, and maps errors to statuses for a unary call. */
  function unary<Req, Res>(what: string, handler: Handler<Req, Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      authenticateOperator(store, call.metadata)
        .then((operator) => handler(operator, call.request))
        .then(
          (res) => callback(null, res),
          (err) => callback(toServiceError(err, ctx.log, what)),
        );
    };
  }

  const clock = ctx.clock ?? systemClock;
  const d = deploymentRpcs(store, ctx.deployments, ctx.log, clock);
  const r = rolloutRpcs(store, ctx.deployments, ctx.log, clock);
  const s = sessionRpcs(ctx.remote);

  return {
    whoAmI: unary<WhoAmIRequest, WhoAmIResponse>('WhoAmI', async (op) => ({
      operator: op.name,
      role: roleToProto(op.role),
      hubId: store.hubId,
      revision: await store.headRevision(),
      hubVersion: ctx.hubVersion,
    })),

    listDevices: unary<ListDevicesRequest, ListDevicesResponse>('ListDevices', async (_op, req) => {
      const pageSize = req.pageSize <= 0 ? DEFAULT_PAGE_SIZE : Math.min(req.pageSize, MAX_PAGE_SIZE);
      const page = await store.listDevices(toFilter(req.filter), pageSize, decodePageToken(req.pageToken));
      return {
        devices: page.devices.map(toProtoDevice),
        nextPageToken: page.nextAfterId ? encodePageToken(page.nextAfterId) : '',
        total: page.total,
      };
    }),

    getDevice: unary<GetDeviceRequest, Device>('GetDevice', async (_op, req) => {
      const device = req.id ? await store.getDevice(req.id) : undefined;
      if (!device) throw new RpcError(status.NOT_FOUND, `no device with id "${req.id}" on this hub`);
      return toProtoDevice(device);
    }),

    setAdmission: unary<SetAdmissionRequest, SetAdmissionResponse>('SetAdmission', async (op, req) => {
      requireRole(op, 'operator', 'changing a device admission');
      const target = statusFromProto(req.status);
      if (!target) throw new RpcError(status.INVALID_ARGUMENT, 'status must be PENDING, ACCEPTED or REJECTED');
      if (!req.ids.length && !req.filter) throw new RpcError(status.INVALID_ARGUMENT, 'give device ids or a filter to choose the devices');
      return store.setAdmission({ ids: req.ids, filter: req.filter && toFilter(req.filter) }, target, op.name);
    }),

    preauthorizeDevice: unary<PreauthorizeRequest, Device>('PreauthorizeDevice', async (op, req) => {
      requireRole(op, 'operator', 'preauthorizing a device');
      if (req.publicKey.length !== ED25519_KEY_BYTES) {
        throw new RpcError(status.INVALID_ARGUMENT, `public_key must be a raw ${ED25519_KEY_BYTES}-byte ed25519 key, got ${req.publicKey.length} bytes`);
      }
      checkIdentity(req.identity);
      const id = deviceIdFromKey(req.publicKey);
      return toProtoDevice(await store.preauthorizeDevice({ id, publicKey: req.publicKey, identity: req.identity }, op.name));
    }),

    uploadArtifact(call: UploadCall, callback) {
      authenticateOperator(store, call.metadata)
        .then((operator) => uploadArtifact({ store, paths: ctx.artifactPaths, log: ctx.log }, operator, call))
        .then(
          (res) => callback(null, res),
          (err) => callback(toServiceError(err, ctx.log, 'UploadArtifact')),
        );
    },

    listArtifacts: unary<ListArtifactsRequest, ListArtifactsResponse>('ListArtifacts', async () => ({
      artifacts: (await store.listArtifacts()).map(toProtoArtifact),
    })),

    createDeployment: unary('CreateDeployment', d.createDeployment),
    listDeployments: unary('ListDeployments', d.listDeployments),
    getDeployment: unary('GetDeployment', d.getDeployment),
    abortDeployment: unary('AbortDeployment', d.abortDeployment),
    listDeviceDeployments: unary('ListDeviceDeployments', d.listDeviceDeployments),
    getDeploymentLog: unary('GetDeploymentLog', d.getDeploymentLog),
    setGroupMembers: unary('SetGroupMembers', d.setGroupMembers),
    listGroups: unary('ListGroups', d.listGroups),
    continueDeployment: unary('ContinueDeployment', r.continueDeployment),
    pauseDeployment: unary('PauseDeployment', r.pauseDeployment),
    resumeDeployment: unary('ResumeDeployment', r.resumeDeployment),
    createDynamicGroup: unary('CreateDynamicGroup', r.createDynamicGroup),
    listDynamicGroups: unary('ListDynamicGroups', r.listDynamicGroups),
    getDynamicGroup: unary('GetDynamicGroup', r.getDynamicGroup),
    deleteDynamicGroup: unary('DeleteDynamicGroup', r.deleteDynamicGroup),
    previewDeviceQuery: unary('PreviewDeviceQuery', r.previewDeviceQuery),
    setGroupWindow: unary('SetGroupWindow', r.setGroupWindow),
    listGroupWindows: unary('ListGroupWindows', r.listGroupWindows),

    channel(call) {
      serveConsoleChannel(ctx.remote, call).catch((err) => {
        const e = toServiceError(err, ctx.log, 'Channel');
        if (!call.writableEnded && !call.cancelled) call.emit('error', e);
      });
    },
    listSessions: unary('ListSessions', s.listSessions),
    closeSession: unary('CloseSession', s.closeSession),
    listAudit: unary('ListAudit', s.listAudit),
    getRecording(call: RecordingCall) {
      authenticateOperator(store, call.metadata)
        .then((operator) => s.getRecording(operator, call))
        .catch((err) => {
          const e = toServiceError(err, ctx.log, 'GetRecording');
          if (!call.writableEnded && !call.cancelled) call.emit('error', e);
        });
    },

    watch(call: WatchCall) {
      ctx.watchers.add(call);
      call.on('close', () => ctx.watchers.delete(call));
      call.on('cancelled', () => ctx.watchers.delete(call));
      authenticateOperator(store, call.metadata)
        .then(() => serveWatch(store, call, ctx.watchLimits))
        .catch((err) => {
          const e = toServiceError(err, ctx.log, 'Watch');
          if (!call.writableEnded) call.emit('error', e);
        });
    },
  };
}

function toFilter(filter: ProtoDeviceFilter | undefined): DeviceFilter {
  if (!filter) return {};
  return { status: statusFromProto(filter.status), attributes: filter.attributes, text: filter.text || undefined };
}
