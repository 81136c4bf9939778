import type { CreateDeploymentRequest, Deployment, DeploymentDetail } from '../../proto/gen/fleet/v1/console';
import { allowFlags, positiveInt } from '../args';
import { CliError, EXIT, UsageError } from '../cli-error';
import { GLOBAL_FLAGS, noOperands, printJson, withSession, type CommandContext } from '../command-context';
import { countsText, deploymentDetails, deploymentTable, GOOD_STATUSES } from '../deployment-view';
import { watchDeployment } from '../deployment-watch';
import { HubUnreachableError, type HubSession } from '../hub-session';
import { ROLLOUT_FLAGS, rolloutOptions } from '../rollout-flags';

// `fleetctl deployments create|list|show|continue|pause|resume|abort|log`.

const DEPLOYMENT_STATUSES = ['active', 'halted', 'finished', 'aborted'];
const STAGES = ['install', 'reboot', 'commit'];
const ARTIFACT_ID = /^[0-9a-f]{64}$/;
/** How often `show --watch` asks the hub; GetDeployment is one indexed query. */
const WATCH_INTERVAL_MS = 500;
/** A watch survives a hub restart or a short network cut, but not a dead hub. */
const WATCH_OUTAGE_MS = 30_000;

export async function deploymentsCreate(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'artifact', 'devices', 'group', 'name', 'allow-downgrade', 'force', ...ROLLOUT_FLAGS]);
  noOperands(ctx);
  const artifact = ctx.args.strings.get('artifact');
  if (!artifact) throw new UsageError('needs --artifact NAME_OR_ID (see fleetctl artifacts list)');
  const deviceIds = deviceList(ctx);
  const group = ctx.args.strings.get('group') ?? '';
  const dynamicGroup = ctx.args.strings.get('dynamic-group') ?? '';
  const targets = [ctx.args.lists.has('devices'), Boolean(group), Boolean(dynamicGroup)].filter(Boolean).length;
  if (targets > 1) throw new UsageError('give one of --devices, --group or --dynamic-group');
  if (!targets) throw new UsageError('needs the targets: --devices ID,..., --group NAME or --dynamic-group NAME');
  const rollout = rolloutOptions(ctx.args);
  const byId = ARTIFACT_ID.test(artifact);
  const request: CreateDeploymentRequest = {
    name: ctx.args.strings.get('name') ?? '',
    artifactId: byId ? artifact : '',
    artifactName: byId ? '' : artifact,
    deviceIds,
    group,
    allowDowngrade: ctx.args.booleans.has('allow-downgrade'),
    force: ctx.args.booleans.has('force'),
    ...(rollout ? { rollout } : {}),
  };
  const d = await withSession(ctx, (s) => s.call((c) => c.createDeployment, request));
  if (ctx.json) return printJson(ctx, d);
  // Only the id on stdout, so scripts can write ID=$(fleetctl deployments create ...).
  ctx.out(`${d.id}\n`);
  const phases = d.rollout && d.rollout.phases.length > 1 ? ` in phases of ${d.rollout.phases.map((p) => p.total).join(', ')}` : '';
  ctx.note(`created deployment "${d.name}" of ${d.artifactName} ${d.artifactVersion} to ${d.total} ${d.total === 1 ? 'device' : 'devices'}${phases}: ${countsText(d.counts)}\n`);
}

export async function deploymentsList(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'status']);
  noOperands(ctx);
  const status = ctx.args.strings.get('status') ?? '';
  if (status && !DEPLOYMENT_STATUSES.includes(status)) throw new UsageError(`--status must be ${DEPLOYMENT_STATUSES.join(', ')}, got "${status}"`);
  const { deployments } = await withSession(ctx, (s) => s.call((c) => c.listDeployments, { status, limit: 0 }));
  if (ctx.json) return printJson(ctx, deployments);
  if (!deployments.length) return ctx.note(`No ${status ? `${status} ` : ''}deployments: create one with fleetctl deployments create\n`);
  ctx.out(deploymentTable(deployments, ctx.useColor));
}

/** Without --watch: one look. With --watch: until it ends; exit 1 unless every device got the artifact. */
export async function deploymentsShow(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'watch']);
  const id = oneId(ctx, 'deployment ID');
  const get = (s: HubSession) => s.call((c) => c.getDeployment, { id });
  if (!ctx.args.booleans.has('watch')) {
    const detail = await withSession(ctx, get);
    if (ctx.json) return printJson(ctx, detail);
    return ctx.out(deploymentDetails(detail, ctx.useColor));
  }
  const detail = await withSession(ctx, (s) => {
    const live = !ctx.json && Boolean(process.stdout.isTTY);
    const out = {
      // With --json only the final detail goes to stdout; progress would break the JSON.
      write: (text: string) => (ctx.json ? undefined : ctx.out(text)),
      live,
      columns: process.stdout.columns || 80,
      rows: process.stdout.rows || 24,
      useColor: ctx.useColor,
    };
    return watchDeployment(() => retrying(() => get(s)), out, { intervalMs: WATCH_INTERVAL_MS });
  });
  if (ctx.json) printJson(ctx, detail);
  const bad = detail.devices.filter((dev) => !GOOD_STATUSES.has(dev.status));
  if (bad.length || detail.deployment!.status !== 'finished') {
    const d = detail.deployment!;
    if (d.status === 'halted') throw new CliError(`deployment ${d.id} halted: ${d.haltReason}: ${countsText(d.counts)}; fleetctl deployments resume ${d.id} (or abort ${d.id})`, EXIT.failed);
    throw new CliError(`deployment ${d.id} ended ${d.status}: ${countsText(d.counts)}`, EXIT.failed);
  }
}

export async function deploymentsAbort(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  const id = oneId(ctx, 'deployment ID');
  const d = await withSession(ctx, (s) => s.call((c) => c.abortDeployment, { id }));
  if (ctx.json) return printJson(ctx, d);
  ctx.out(`deployment ${d.id} ${d.status}: ${countsText(d.counts)}\n`);
  if (d.status === 'aborted' && d.counts.aborted !== d.total) ctx.note('devices that have not committed roll back and then report aborted: see fleetctl deployments show ID --watch\n');
}

/** Start a waiting phase, or release pause points: of every started phase, one phase, or some devices. */
export async function deploymentsContinue(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'phase', 'devices', 'stage']);
  const id = oneId(ctx, 'deployment ID');
  const phases = ctx.args.lists.get('phase') ?? [];
  if (phases.length > 1) throw new UsageError('--phase takes one phase number here');
  const phase = phases.length ? positiveInt('phase', phases[0]) : 0;
  const deviceIds = deviceList(ctx);
  if (phase && ctx.args.lists.has('devices')) throw new UsageError('continue one --phase or some --devices, not both');
  const stage = ctx.args.strings.get('stage') ?? '';
  if (stage && !STAGES.includes(stage)) throw new UsageError(`--stage must be install, reboot or commit (it releases that pause and those before it), got "${stage}"`);
  const d = await withSession(ctx, (s) => s.call((c) => c.continueDeployment, { id, stage, phase, deviceIds }));
  deploymentSummary(ctx, d);
}

/** Halt by hand: no new device starts and no pause is released until resumed. */
export async function deploymentsPause(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'reason']);
  const id = oneId(ctx, 'deployment ID');
  const d = await withSession(ctx, (s) => s.call((c) => c.pauseDeployment, { id, reason: ctx.args.strings.get('reason') ?? '' }));
  deploymentSummary(ctx, d);
}

export async function deploymentsResume(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  const id = oneId(ctx, 'deployment ID');
  const d = await withSession(ctx, (s) => s.call((c) => c.resumeDeployment, { id }));
  deploymentSummary(ctx, d);
}

/** "deployment ID active: 3 pending, ..." plus the halt reason, or the proto JSON. */
function deploymentSummary(ctx: CommandContext, d: Deployment): void {
  if (ctx.json) return printJson(ctx, d);
  ctx.out(`deployment ${d.id} ${d.status}${d.haltReason ? ` (${d.haltReason})` : ''}: ${countsText(d.counts)}\n`);
}

/** --devices ID,ID (repeatable) as unique ids; a usage error when given empty. */
function deviceList(ctx: CommandContext): string[] {
  const ids = [...new Set((ctx.args.lists.get('devices') ?? []).flatMap((v) => v.split(',')).map((id) => id.trim()).filter(Boolean))];
  if (ctx.args.lists.has('devices') && !ids.length) throw new UsageError('--devices needs device IDs, separated by commas');
  return ids;
}

export async function deploymentsLog(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  if (ctx.operands.length !== 2) throw new UsageError('needs a deployment ID and a device ID');
  const [deploymentId, deviceId] = ctx.operands;
  const res = await withSession(ctx, (s) => s.call((c) => c.getDeploymentLog, { deploymentId, deviceId }));
  if (ctx.json) return printJson(ctx, res);
  if (!res.lines.length) return ctx.note(`device ${deviceId} sent no log lines for deployment ${deploymentId}\n`);
  ctx.out(res.lines.map((line) => `${line}\n`).join(''));
}

function oneId(ctx: CommandContext, what: string): string {
  if (ctx.operands.length !== 1) throw new UsageError(`needs exactly one ${what}`);
  return ctx.operands[0];
}

/**
 * Retries calls that failed because the hub could not be reached (e.g. the
 * hub restarting) until WATCH_OUTAGE_MS have passed since the
 * call first failed; any other failure ends the watch at once.
 */
async function retrying(call: () => Promise<DeploymentDetail>): Promise<DeploymentDetail> {
  const started = Date.now();
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof HubUnreachableError) || Date.now() - started > WATCH_OUTAGE_MS) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
