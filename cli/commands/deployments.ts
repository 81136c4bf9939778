import type { CreateDeploymentRequest, DeploymentDetail } from '../../proto/gen/fleet/v1/console';
import { allowFlags } from '../args';
import { CliError, EXIT, UsageError } from '../cli-error';
import { GLOBAL_FLAGS, noOperands, printJson, withSession, type CommandContext } from '../command-context';
import { countsText, deploymentDetails, deploymentTable, GOOD_STATUSES } from '../deployment-view';
import { watchDeployment } from '../deployment-watch';
import { HubUnreachableError, type HubSession } from '../hub-session';

// `fleetctl deployments create|list|show|abort|log`.

const DEPLOYMENT_STATUSES = ['active', 'finished', 'aborted'];
const ARTIFACT_ID = /^[0-9a-f]{64}$/;
/** How often `show --watch` asks the hub; GetDeployment is one indexed query. */
const WATCH_INTERVAL_MS = 500;
/** A watch survives a hub restart or a short network cut, but not a dead hub. */
const WATCH_OUTAGE_MS = 30_000;

export async function deploymentsCreate(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'artifact', 'devices', 'group', 'name', 'allow-downgrade', 'force']);
  noOperands(ctx);
  const artifact = ctx.args.strings.get('artifact');
  if (!artifact) throw new UsageError('needs --artifact NAME_OR_ID (see fleetctl artifacts list)');
  const deviceIds = [...new Set((ctx.args.lists.get('devices') ?? []).flatMap((v) => v.split(',')).map((id) => id.trim()).filter(Boolean))];
  const group = ctx.args.strings.get('group') ?? '';
  if (ctx.args.lists.has('devices') && group) throw new UsageError('give --devices or --group, not both');
  if (ctx.args.lists.has('devices') && !deviceIds.length) throw new UsageError('--devices needs device IDs, separated by commas');
  if (!deviceIds.length && !group) throw new UsageError('needs the targets: --devices ID,... or --group NAME');
  const byId = ARTIFACT_ID.test(artifact);
  const request: CreateDeploymentRequest = {
    name: ctx.args.strings.get('name') ?? '',
    artifactId: byId ? artifact : '',
    artifactName: byId ? '' : artifact,
    deviceIds,
    group,
    allowDowngrade: ctx.args.booleans.has('allow-downgrade'),
    force: ctx.args.booleans.has('force'),
  };
  const d = await withSession(ctx, (s) => s.call((c) => c.createDeployment, request));
  if (ctx.json) return printJson(ctx, d);
  // Only the id on stdout, so scripts can write ID=$(fleetctl deployments create ...).
  ctx.out(`${d.id}\n`);
  ctx.note(`created deployment "${d.name}" of ${d.artifactName} ${d.artifactVersion} to ${d.total} ${d.total === 1 ? 'device' : 'devices'}: ${countsText(d.counts)}\n`);
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
