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
  PreviewDeviceQueryRequest,
  PreviewDeviceQueryResponse,
  ResumeDeploymentRequest,
} from '../../proto/gen/fleet/v1/console';
import { requireRole } from '../auth/operator-auth';
import type { DeploymentDispatcher } from '../deployments/deployment-dispatcher';
import type { Clock } from '../rollouts/clock';
import { compileQuery, queryFromProto, queryToProto } from '../rollouts/device-query';
import { isStage } from '../rollouts/stages';
import { RpcError } from '../rpc-error';
import { RolloutNotFoundError, RolloutStateError, type DeviceRecord, type DynamicGroupRecord, type HubStore, type Operator } from '../store/store';
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
      return { groups: (await store.listDynamicGroups()).map((g) => toProtoGroup(g, devices)) };
    },

    async getDynamicGroup(_op: Operator, req: GetDynamicGroupRequest): Promise<DynamicGroupDetail> {
      const group = await store.getDynamicGroup(req.name);
      if (!group) throw groupNotFound(req.name);
      const ids = (await store.acceptedDevices()).filter(compileQuery(group.query)).map((d) => d.id);
      return { group: { ...toProtoGroup(group, []), matching: ids.length }, deviceIds: ids };
    },

    async deleteDynamicGroup(op: Operator, req: DeleteDynamicGroupRequest): Promise<DynamicGroup> {
      requireRole(op, 'operator', 'deleting a dynamic group');
      const group = await store.deleteDynamicGroup(req.name, op.name);
      if (!group) throw groupNotFound(req.name);
      return toProtoGroup(group, await store.acceptedDevices());
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
