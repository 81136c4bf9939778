import { status } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { CreateDeploymentRequest } from '../../proto/gen/fleet/v1/console';
import { RpcError } from '../rpc-error';
import { compileQuery } from '../rollouts/device-query';
import { assignPhases } from '../rollouts/phase-plan';
import { rolloutFromOptions, type RolloutConfig } from '../rollouts/rollout-config';
import type { ArtifactRecord, HubStore, NewDeployment } from '../store/store';
import { initialStatus } from './initial-status';

const MAX_NAME = 200;
const MAX_TARGETS = 100_000;

/** Turns a CreateDeploymentRequest into a deployment to store, or an error the operator can act on. */
export async function planDeployment(store: HubStore, req: CreateDeploymentRequest, actor: string): Promise<NewDeployment> {
  const artifact = await resolveArtifact(store, req);
  const rollout = rolloutFromOptions(req.rollout);
  const ids = rollout.dynamicGroup ? await resolveDynamicTargets(store, req, rollout) : await resolveTargets(store, req);
  // A deployment to a group without a window of its own takes the group's.
  const group = rollout.dynamicGroup ? { name: rollout.dynamicGroup, dynamic: true } : req.group ? { name: req.group, dynamic: false } : undefined;
  if (!rollout.window && group) rollout.window = (await store.groupWindow(group.name, group.dynamic))?.window;
  const devices = await store.getDevices(ids);
  const known = new Set(devices.map((d) => d.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length) throw new RpcError(status.NOT_FOUND, `${unknown.length} target device${unknown.length === 1 ? ' is' : 's are'} unknown to this hub: ${sample(unknown)}`);
  const notAccepted = devices.filter((d) => d.status !== 'accepted');
  if (notAccepted.length) {
    throw new RpcError(
      status.FAILED_PRECONDITION,
      `${notAccepted.length} target device${notAccepted.length === 1 ? ' is' : 's are'} not accepted (${sample(notAccepted.map((d) => `${d.id} ${d.status}`))}): accept them or leave them out`,
    );
  }
  const name = req.name.trim() || `${artifact.name} ${artifact.version}`;
  if (name.length > MAX_NAME) throw new RpcError(status.INVALID_ARGUMENT, `deployment name is ${name.length} characters; at most ${MAX_NAME}`);
  const id = randomUUID();
  const phases = assignPhases(id, ids, rollout.phases);
  return {
    id,
    rollout,
    name,
    artifact,
    allowDowngrade: req.allowDowngrade,
    force: req.force,
    createdBy: actor,
    createdMs: Date.now(),
    targets: devices
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((device) => ({ deviceId: device.id, ...initialStatus(device, artifact, req.force), phase: phases.get(device.id) })),
  };
}

async function resolveArtifact(store: HubStore, req: CreateDeploymentRequest): Promise<ArtifactRecord> {
  if (req.artifactId && req.artifactName) throw new RpcError(status.INVALID_ARGUMENT, 'give the artifact by id or by name, not both');
  if (req.artifactId) {
    const artifact = await store.getArtifact(req.artifactId);
    if (!artifact) throw new RpcError(status.NOT_FOUND, `no artifact with id "${req.artifactId}" on this hub: upload it first or pick one from the artifact list`);
    return artifact;
  }
  if (req.artifactName) {
    const artifact = await store.newestArtifactNamed(req.artifactName);
    if (!artifact) throw new RpcError(status.NOT_FOUND, `no artifact named "${req.artifactName}" on this hub: upload it first or pick one from the artifact list`);
    return artifact;
  }
  throw new RpcError(status.INVALID_ARGUMENT, 'give the artifact to deploy: artifact_id or artifact_name');
}

async function resolveTargets(store: HubStore, req: CreateDeploymentRequest): Promise<string[]> {
  if (req.deviceIds.length && req.group) throw new RpcError(status.INVALID_ARGUMENT, 'give the targets as device ids or as a group, not both');
  let ids: string[];
  if (req.group) {
    ids = await store.groupMembers(req.group);
    if (!ids.length) throw new RpcError(status.NOT_FOUND, `no static group "${req.group}" with members on this hub: add devices to it first`);
  } else {
    ids = [...new Set(req.deviceIds.filter((id) => id !== ''))];
    if (!ids.length) throw new RpcError(status.INVALID_ARGUMENT, 'give the target devices: device_ids or group');
  }
  if (ids.length > MAX_TARGETS) throw new RpcError(status.INVALID_ARGUMENT, `${ids.length} target devices; at most ${MAX_TARGETS} per deployment`);
  return ids;
}

/** The accepted devices matching the dynamic group now (the first max_devices by id); may be none. */
async function resolveDynamicTargets(store: HubStore, req: CreateDeploymentRequest, rollout: RolloutConfig): Promise<string[]> {
  if (req.deviceIds.length || req.group) throw new RpcError(status.INVALID_ARGUMENT, 'give the targets as device ids, a group or a dynamic group: only one of them');
  const group = await store.getDynamicGroup(rollout.dynamicGroup);
  if (!group) throw new RpcError(status.NOT_FOUND, `no dynamic group "${rollout.dynamicGroup}" on this hub: create it first (CreateDynamicGroup)`);
  rollout.dynamicQuery = group.query;
  const matches = compileQuery(group.query);
  const ids = (await store.acceptedDevices()).filter(matches).map((d) => d.id);
  return rollout.maxDevices ? ids.slice(0, rollout.maxDevices) : ids.slice(0, MAX_TARGETS);
}

function sample(items: string[]): string {
  return items.length <= 5 ? items.join(', ') : `${items.slice(0, 5).join(', ')} and ${items.length - 5} more`;
}
