import { status } from '@grpc/grpc-js';
import type {
  AbortDeploymentRequest,
  CreateDeploymentRequest,
  Deployment,
  DeploymentDetail,
  GetDeploymentLogRequest,
  GetDeploymentLogResponse,
  GetDeploymentRequest,
  Group,
  ListDeploymentsRequest,
  ListDeploymentsResponse,
  ListDeviceDeploymentsRequest,
  ListDeviceDeploymentsResponse,
  ListGroupsResponse,
  SetGroupMembersRequest,
} from '../../proto/gen/fleet/v1/console';
import { requireRole } from '../auth/operator-auth';
import type { DeploymentDispatcher } from '../deployments/deployment-dispatcher';
import { toProtoDeployment, toProtoDeploymentDevice } from '../deployments/deployment-proto';
import { planDeployment } from '../deployments/plan-deployment';
import { RpcError } from '../rpc-error';
import { systemClock, type Clock } from '../rollouts/clock';
import { toProtoHistoryEntry } from '../rollouts/rollout-proto';
import { DeploymentFinishedError, type DeploymentRecord, type DeploymentStatus, type HubStore, type Operator } from '../store/store';

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DEPLOYMENT_STATUSES: DeploymentStatus[] = ['active', 'halted', 'finished', 'aborted'];

/** A deployment with its phases and window filled in. */
export async function fullDeployment(store: HubStore, d: DeploymentRecord, clock: Clock): Promise<Deployment> {
  return toProtoDeployment(d, { phases: await store.deploymentPhases(d.id), nowMs: clock.now() });
}

// ConsoleService handlers for deployments and static groups. Each takes the
// authenticated operator and the request; console-service.ts wraps them.
export function deploymentRpcs(store: HubStore, dispatcher: DeploymentDispatcher, log: (line: string) => void, clock: Clock = systemClock) {
  const full = (d: DeploymentRecord) => fullDeployment(store, d, clock);
  return {
    async createDeployment(op: Operator, req: CreateDeploymentRequest): Promise<Deployment> {
      requireRole(op, 'operator', 'creating a deployment');
      const plan = await planDeployment(store, req, op.name);
      const deployment = await store.createDeployment(plan);
      const pending = plan.targets.filter((t) => t.status === 'pending').map((t) => t.deviceId);
      log(`deployment ${deployment.id} "${deployment.name}" created by ${op.name}: ${deployment.total} devices, ${pending.length} pending`);
      // Pushed in the background: the operator gets the answer at once.
      dispatcher.onCreated(deployment, pending).catch((err) => log(`could not send deployment ${deployment.id} to its devices: ${(err as Error).message}`));
      return full(deployment);
    },

    async listDeployments(_op: Operator, req: ListDeploymentsRequest): Promise<ListDeploymentsResponse> {
      if (req.status && !DEPLOYMENT_STATUSES.includes(req.status as DeploymentStatus)) {
        throw new RpcError(status.INVALID_ARGUMENT, `status "${req.status}" is not a deployment status: use active, halted, finished or aborted (or nothing for all)`);
      }
      const limit = req.limit <= 0 ? DEFAULT_LIST_LIMIT : Math.min(req.limit, MAX_LIST_LIMIT);
      const deployments = await store.listDeployments({ status: (req.status || undefined) as DeploymentStatus | undefined, limit });
      return { deployments: await Promise.all(deployments.map(full)) };
    },

    async getDeployment(_op: Operator, req: GetDeploymentRequest): Promise<DeploymentDetail> {
      const deployment = await store.getDeployment(req.id);
      if (!deployment) throw notFound(req.id);
      const devices = await store.deploymentDevices(req.id);
      const history = await store.deploymentHistory(req.id);
      return { deployment: await full(deployment), devices: devices.map(toProtoDeploymentDevice), history: { entries: history.map(toProtoHistoryEntry) } };
    },

    async abortDeployment(op: Operator, req: AbortDeploymentRequest): Promise<Deployment> {
      requireRole(op, 'operator', 'aborting a deployment');
      let result;
      try {
        result = await store.abortDeployment(req.id, op.name);
      } catch (err) {
        if (err instanceof DeploymentFinishedError) throw new RpcError(status.FAILED_PRECONDITION, err.message);
        throw err;
      }
      if (!result) throw notFound(req.id);
      if (result.abortedPending.length || result.inProgress.length) {
        log(`deployment ${req.id} aborted by ${op.name}: ${result.abortedPending.length} pending devices aborted, ${result.inProgress.length} told to roll back`);
      }
      dispatcher.onAborted(result).catch((err) => log(`could not send the abort of deployment ${req.id} to its devices: ${(err as Error).message}`));
      return full(result.deployment);
    },

    async listDeviceDeployments(_op: Operator, req: ListDeviceDeploymentsRequest): Promise<ListDeviceDeploymentsResponse> {
      if (!(await store.getDevice(req.deviceId))) throw new RpcError(status.NOT_FOUND, `no device with id "${req.deviceId}" on this hub`);
      return { deployments: (await store.deviceDeployments(req.deviceId)).map(toProtoDeploymentDevice) };
    },

    async getDeploymentLog(_op: Operator, req: GetDeploymentLogRequest): Promise<GetDeploymentLogResponse> {
      if (!(await store.getDeploymentDevice(req.deploymentId, req.deviceId))) {
        if (!(await store.getDeployment(req.deploymentId))) throw notFound(req.deploymentId);
        throw new RpcError(status.NOT_FOUND, `device "${req.deviceId}" is not a target of deployment ${req.deploymentId}`);
      }
      return { lines: await store.deploymentLog(req.deploymentId, req.deviceId) };
    },

    async setGroupMembers(op: Operator, req: SetGroupMembersRequest): Promise<Group> {
      requireRole(op, 'operator', 'changing a group');
      if (!GROUP_NAME.test(req.name)) {
        throw new RpcError(status.INVALID_ARGUMENT, `group name "${req.name.slice(0, 80)}" is not valid: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)`);
      }
      const add = [...new Set(req.add)];
      const known = new Set((await store.getDevices(add)).map((d) => d.id));
      const unknown = add.filter((id) => !known.has(id));
      if (unknown.length) throw new RpcError(status.NOT_FOUND, `cannot add devices unknown to this hub: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}`);
      const group = await store.setGroupMembers(req.name, add, req.remove, op.name);
      const window = (await store.groupWindow(req.name, false))?.window;
      return window ? { ...group, window: { ...window } } : group;
    },

    async listGroups(): Promise<ListGroupsResponse> {
      const windows = new Map((await store.groupWindows()).filter((w) => !w.dynamic).map((w) => [w.group, w.window]));
      return { groups: (await store.listGroups()).map((g) => (windows.has(g.name) ? { ...g, window: { ...windows.get(g.name)! } } : g)) };
    },
  };
}

function notFound(id: string): RpcError {
  return new RpcError(status.NOT_FOUND, `no deployment with id "${id}" on this hub`);
}
