import { status } from '@grpc/grpc-js';
import type {
  ContinueDeploymentRequest,
  CreateDynamicGroupRequest,
  DeleteDynamicGroupRequest,
  Deployment,
  DynamicGroup,
  DynamicGroupDetail,
  GetDynamicGroupRequest,
  ListDynamicGroupsResponse,
  PauseDeploymentRequest,
  GroupWindow,
  ListGroupWindowsResponse,
  PreviewDeviceQueryRequest,
  SetGroupWindowRequest,
  PreviewDeviceQueryResponse,
  ResumeDeploymentRequest,
} from '../../proto/gen/fleet/v1/console';
import { requireRole } from '../auth/operator-auth';
import type { DeploymentDispatcher } from '../deployments/deployment-dispatcher';
import type { Clock } from '../rollouts/clock';
import { compileQuery, queryFromProto, queryToProto } from '../rollouts/device-query';
import { maintenanceWindow, type WindowConfig } from '../rollouts/maintenance-window';
import { isStage } from '../rollouts/stages';
import { RpcError } from '../rpc-error';
import { RolloutNotFoundError, RolloutStateError, type DeviceRecord, type DynamicGroupRecord, type GroupWindowRecord, type HubStore, type Operator } from '../store/store';
import { fullDeployment } from './deployment-rpcs';

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PREVIEW_SAMPLE = 20;
const MAX_REASON = 500;

// ConsoleService handlers for rollout control (docs/rollouts.md): continue,
// pause, resume, and dynamic groups.
export function rolloutRpcs(store: HubStore, dispatcher: DeploymentDispatcher, log: (line: string) => void, clock: Clock) {
  const background = (what: string, work: Promise<unknown>) => work.catch((err) => log(`${what}: ${(err as Error).message}`));

  return {
    async continueDeployment(op: Operator, req: ContinueDeploymentRequest): Promise<Deployment> {
      requireRole(op, 'operator', 'continuing a deployment');
      if (req.stage && !isStage(req.stage)) throw new RpcError(status.INVALID_ARGUMENT, `stage "${req.stage}" is not a pause point: use install, reboot or commit (or nothing for the next one)`);
      if (req.phase < 0) throw new RpcError(status.INVALID_ARGUMENT, `phase numbers start at 1, got ${req.phase}`);
      if (req.phase && req.deviceIds.length) throw new RpcError(status.INVALID_ARGUMENT, 'continue a phase or some devices, not both');
      const result = await mapped(() => store.continueDeployment(req.id, { stage: isStage(req.stage) ? req.stage : undefined, phase: req.phase, deviceIds: req.deviceIds }, op.name));
      if (result.startedPhase) {
        log(`deployment ${req.id}: phase ${result.startedPhase} started by ${op.name}`);
        background(`could not start phase ${result.startedPhase} of deployment ${req.id}`, dispatcher.onPhaseStarted({ deploymentId: req.id, phase: result.startedPhase }));
      }
      if (result.releasedPhases.length || result.releasedDevices.length) {
        log(`deployment ${req.id} continued by ${op.name} (${req.stage || 'next pause point'})`);
        background(`could not send the continue of deployment ${req.id}`, dispatcher.releasePaused(req.id));
      }
      return fullDeployment(store, result.deployment, clock);
    },

    async pauseDeployment(op: Operator, req: PauseDeploymentRequest): Promise<Deployment> {
      requireRole(op, 'operator', 'pausing a deployment');
      const reason = (req.reason.trim() || `paused by ${op.name}`).slice(0, MAX_REASON);
      const deployment = await mapped(() => store.pauseDeployment(req.id, reason, op.name));
      log(`deployment ${req.id} halted by ${op.name}: ${reason}`);
      return fullDeployment(store, deployment, clock);
    },

    async resumeDeployment(op: Operator, req: ResumeDeploymentRequest): Promise<Deployment> {
      requireRole(op, 'operator', 'resuming a deployment');
      const { deployment, phasesStarted } = await mapped(() => store.resumeDeployment(req.id, op.name));
      log(`deployment ${req.id} resumed by ${op.name}`);
      background(`could not resume deployment ${req.id} on its devices`, (async () => {
        for (const start of phasesStarted) await dispatcher.onPhaseStarted(start);
        await dispatcher.onResumed(req.id);
      })());
      return fullDeployment(store, deployment, clock);
    },

    async createDynamicGroup(op: Operator, req: CreateDynamicGroupRequest): Promise<DynamicGroup> {
      requireRole(op, 'operator', 'creating a dynamic group');
      if (!GROUP_NAME.test(req.name)) {
        throw new RpcError(status.INVALID_ARGUMENT, `group name "${req.name.slice(0, 80)}" is not valid: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)`);
      }
      const query = queryFromProto(req.query);
      const group = await mapped(() => store.saveDynamicGroup({ name: req.name, query, createdMs: Date.now(), createdBy: op.name }, req.replace), status.ALREADY_EXISTS);
      return toProtoGroup(group, await store.acceptedDevices());
    },

    async listDynamicGroups(): Promise<ListDynamicGroupsResponse> {
      const devices = await store.acceptedDevices();
      const windows = new Map((await store.groupWindows()).filter((w) => w.dynamic).map((w) => [w.group, w.window]));
      return { groups: (await store.listDynamicGroups()).map((g) => withWindow(toProtoGroup(g, devices), windows.get(g.name))) };
    },

    async getDynamicGroup(_op: Operator, req: GetDynamicGroupRequest): Promise<DynamicGroupDetail> {
      const group = await store.getDynamicGroup(req.name);
      if (!group) throw groupNotFound(req.name);
      const ids = (await store.acceptedDevices()).filter(compileQuery(group.query)).map((d) => d.id);
      const window = (await store.groupWindow(group.name, true))?.window;
      return { group: withWindow({ ...toProtoGroup(group, []), matching: ids.length }, window), deviceIds: ids };
    },

    async deleteDynamicGroup(op: Operator, req: DeleteDynamicGroupRequest): Promise<DynamicGroup> {
      requireRole(op, 'operator', 'deleting a dynamic group');
      const group = await store.deleteDynamicGroup(req.name, op.name);
      if (!group) throw groupNotFound(req.name);
      return toProtoGroup(group, await store.acceptedDevices());
    },

    async setGroupWindow(op: Operator, req: SetGroupWindowRequest): Promise<GroupWindow> {
      requireRole(op, 'operator', 'setting a group maintenance window');
      if (!GROUP_NAME.test(req.group)) throw new RpcError(status.INVALID_ARGUMENT, `group name "${req.group.slice(0, 80)}" is not valid`);
      if (req.dynamic && !(await store.getDynamicGroup(req.group))) throw groupNotFound(req.group);
      let window: WindowConfig | undefined;
      if (req.window) {
        window = { cron: req.window.cron.trim(), durationMs: req.window.durationMs, timeZone: req.window.timeZone.trim() };
        try {
          maintenanceWindow(window);
        } catch (err) {
          throw new RpcError(status.INVALID_ARGUMENT, `maintenance window: ${(err as Error).message}`);
        }
      }
      const stored = await store.setGroupWindow(req.group, req.dynamic, window, op.name);
      return stored ? toProtoGroupWindow(stored) : { group: req.group, dynamic: req.dynamic, window: undefined, setBy: op.name, setMs: Date.now() };
    },

    async listGroupWindows(): Promise<ListGroupWindowsResponse> {
      return { windows: (await store.groupWindows()).map(toProtoGroupWindow) };
    },

    async previewDeviceQuery(_op: Operator, req: PreviewDeviceQueryRequest): Promise<PreviewDeviceQueryResponse> {
      const ids = (await store.acceptedDevices()).filter(compileQuery(queryFromProto(req.query))).map((d) => d.id);
      return { matching: ids.length, sample: ids.slice(0, PREVIEW_SAMPLE) };
    },
  };
}

function toProtoGroup(g: DynamicGroupRecord, devices: DeviceRecord[]): DynamicGroup {
  return { name: g.name, query: queryToProto(g.query), createdBy: g.createdBy, createdMs: g.createdMs, matching: devices.filter(compileQuery(g.query)).length };
}

function withWindow(g: DynamicGroup, window: WindowConfig | undefined): DynamicGroup {
  return window ? { ...g, window: { ...window } } : g;
}

function toProtoGroupWindow(w: GroupWindowRecord): GroupWindow {
  return { group: w.group, dynamic: w.dynamic, window: { ...w.window }, setBy: w.setBy, setMs: w.setMs };
}

function groupNotFound(name: string): RpcError {
  return new RpcError(status.NOT_FOUND, `no dynamic group "${name}" on this hub`);
}

/** Store errors as gRPC statuses: missing things NOT_FOUND, a state that forbids the action FAILED_PRECONDITION (or `stateCode`). */
async function mapped<T>(work: () => Promise<T>, stateCode = status.FAILED_PRECONDITION): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof RolloutNotFoundError) throw new RpcError(status.NOT_FOUND, err.message);
    if (err instanceof RolloutStateError) throw new RpcError(stateCode, err.message);
    throw err;
  }
}
