import { PAUSE_STAGES, type ConsoleApi, type ContinueTarget, type CreateDeploymentParams, type DeploymentListQuery, type DeploymentStatus } from '../../common/console-api';
import type { ContinueDeploymentRequest, CreateDeploymentRequest } from '../../../proto/gen/fleet/v1/console';
import type { HubSession } from '../connection/hub-session';
import { unary } from '../hub-client/hub-connection';
import { toDeploymentDeviceRow, toDeploymentRow, toHistory } from './deployment-rows';
import { nextWindow } from './next-window';
import { toRolloutRequest } from './rollout-request';

const MAX_IDS = 10_000;
const LIST_STATUSES: readonly DeploymentStatus[] = ['active', 'halted', 'finished', 'aborted'];

// The `deployments` half of the console API. Like artifacts, deployments are
// not cached: every read asks the live hub, so what the page shows is what
// the hub knows now, and an offline console says it needs the hub.
export function deploymentActions(session: HubSession): ConsoleApi['deployments'] {
  return {
    create: (params) =>
      session.call('creating a deployment', async (client, token) => toDeploymentRow(await unary(client, client.createDeployment, checkCreate(params), token))),
    list: (query) =>
      session.call('listing deployments', async (client, token) => {
        const res = await unary(client, client.listDeployments, checkList(query), token);
        return res.deployments.map(toDeploymentRow);
      }),
    get: (id) =>
      session.call('reading a deployment', async (client, token) => {
        const res = await unary(client, client.getDeployment, { id: checkId(id, 'deployment id') }, token);
        if (!res.deployment) throw new Error(`the hub answered deployment ${id} without its summary; update the console`);
        return { deployment: toDeploymentRow(res.deployment), devices: res.devices.map(toDeploymentDeviceRow), history: toHistory(res.history) };
      }),
    abort: (id) =>
      session.call('aborting a deployment', async (client, token) => toDeploymentRow(await unary(client, client.abortDeployment, { id: checkId(id, 'deployment id') }, token))),
    continue: (id, target) =>
      session.call('continuing a deployment', async (client, token) =>
        toDeploymentRow(await unary(client, client.continueDeployment, checkContinue(id, target), token)),
      ),
    pause: (id, reason) =>
      session.call('pausing a deployment', async (client, token) => {
        const req = { id: checkId(id, 'deployment id'), reason: typeof reason === 'string' ? reason.trim() : '' };
        return toDeploymentRow(await unary(client, client.pauseDeployment, req, token));
      }),
    resume: (id) =>
      session.call('resuming a deployment', async (client, token) => toDeploymentRow(await unary(client, client.resumeDeployment, { id: checkId(id, 'deployment id') }, token))),
    nextWindow: async (window) => nextWindow(window, Date.now()),
    deviceHistory: (deviceId) =>
      session.call("reading a device's update history", async (client, token) => {
        const res = await unary(client, client.listDeviceDeployments, { deviceId: checkId(deviceId, 'device id') }, token);
        return res.deployments.map(toDeploymentDeviceRow);
      }),
    deviceLog: (deploymentId, deviceId) =>
      session.call('reading a deployment log', async (client, token) => {
        const req = { deploymentId: checkId(deploymentId, 'deployment id'), deviceId: checkId(deviceId, 'device id') };
        return (await unary(client, client.getDeploymentLog, req, token)).lines;
      }),
  };
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !id.trim()) throw new Error(`${what} is empty`);
  return id.trim();
}

function checkCreate(params: CreateDeploymentParams): CreateDeploymentRequest {
  if (!params || typeof params !== 'object') throw new Error('a deployment needs { artifactId, deviceIds or group }');
  const artifactId = checkId(params.artifactId, 'artifact id');
  const ids = params.deviceIds ?? [];
  const group = params.group ?? '';
  const rollout = toRolloutRequest(params.rollout);
  const dynamic = rollout?.dynamicGroup ?? '';
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || !id)) throw new Error('device ids must be a list of non-empty strings');
  if (typeof group !== 'string') throw new Error('the group must be a name');
  if ([ids.length > 0, !!group.trim(), !!dynamic].filter(Boolean).length > 1) throw new Error('deploy to devices, a group or a dynamic group: only one of them');
  if (ids.length === 0 && !group.trim() && !dynamic) throw new Error('no devices selected: choose the devices (or a group) to deploy to');
  if (ids.length > MAX_IDS) throw new Error(`too many devices at once (${ids.length}); deploy to at most ${MAX_IDS} or use a group`);
  return {
    name: typeof params.name === 'string' ? params.name.trim() : '',
    artifactId,
    artifactName: '',
    deviceIds: [...new Set(ids)],
    group: group.trim(),
    allowDowngrade: params.allowDowngrade === true,
    force: params.force === true,
    rollout,
  };
}

function checkContinue(id: string, target: ContinueTarget | undefined): ContinueDeploymentRequest {
  const t = target ?? {};
  if (typeof t !== 'object') throw new Error('continue takes { phase?, deviceIds?, stage? }');
  const phase = t.phase ?? 0;
  if (!Number.isInteger(phase) || phase < 0) throw new Error('the phase must be a number from 1');
  const deviceIds = t.deviceIds ?? [];
  if (!Array.isArray(deviceIds) || deviceIds.some((d) => typeof d !== 'string' || !d)) throw new Error('device ids must be a list of non-empty strings');
  if (phase > 0 && deviceIds.length > 0) throw new Error('continue either a phase or devices, not both');
  const stage = t.stage ?? '';
  if (stage && !PAUSE_STAGES.includes(stage)) throw new Error(`unknown stage "${String(stage)}": use ${PAUSE_STAGES.join(', ')}`);
  return { id: checkId(id, 'deployment id'), stage, phase, deviceIds: [...new Set(deviceIds)] };
}

function checkList(query: DeploymentListQuery | undefined): { status: string; limit: number } {
  const status = query?.status ?? '';
  if (status && !LIST_STATUSES.includes(status)) throw new Error(`unknown deployment status "${status}": use ${LIST_STATUSES.join(', ')}`);
  const limit = query?.limit ?? 0;
  if (!Number.isInteger(limit) || limit < 0) throw new Error('the limit must be a whole number');
  return { status, limit };
}
