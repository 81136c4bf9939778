import type { ConsoleApi, CreateDeploymentParams, DeploymentListQuery, DeploymentStatus } from '../../common/console-api';
import type { CreateDeploymentRequest } from '../../../proto/gen/fleet/v1/console';
import type { HubSession } from '../connection/hub-session';
import { unary } from '../hub-client/hub-connection';
import { toDeploymentDeviceRow, toDeploymentRow } from './deployment-rows';

const MAX_IDS = 10_000;
const LIST_STATUSES: readonly DeploymentStatus[] = ['active', 'finished', 'aborted'];

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
        return { deployment: toDeploymentRow(res.deployment), devices: res.devices.map(toDeploymentDeviceRow) };
      }),
    abort: (id) =>
      session.call('aborting a deployment', async (client, token) => toDeploymentRow(await unary(client, client.abortDeployment, { id: checkId(id, 'deployment id') }, token))),
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
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || !id)) throw new Error('device ids must be a list of non-empty strings');
  if (typeof group !== 'string') throw new Error('the group must be a name');
  if (ids.length > 0 && group) throw new Error('deploy either to devices or to a group, not both');
  if (ids.length === 0 && !group.trim()) throw new Error('no devices selected: choose the devices (or a group) to deploy to');
  if (ids.length > MAX_IDS) throw new Error(`too many devices at once (${ids.length}); deploy to at most ${MAX_IDS} or use a group`);
  return {
    name: typeof params.name === 'string' ? params.name.trim() : '',
    artifactId,
    artifactName: '',
    deviceIds: [...new Set(ids)],
    group: group.trim(),
    allowDowngrade: params.allowDowngrade === true,
    force: params.force === true,
  };
}

function checkList(query: DeploymentListQuery | undefined): { status: string; limit: number } {
  const status = query?.status ?? '';
  if (status && !LIST_STATUSES.includes(status)) throw new Error(`unknown deployment status "${status}": use ${LIST_STATUSES.join(', ')}`);
  const limit = query?.limit ?? 0;
  if (!Number.isInteger(limit) || limit < 0) throw new Error('the limit must be a whole number');
  return { status, limit };
}
