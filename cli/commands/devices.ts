import { AdmissionStatus, type Device } from '../../proto/gen/fleet/v1/common';
import type { DeviceFilter } from '../../proto/gen/fleet/v1/console';
import { allowFlags, keyValues, positiveInt } from '../args';
import { CliError, EXIT, UsageError } from '../cli-error';
import { GLOBAL_FLAGS, noOperands, printJson, withSession, type CommandContext } from '../command-context';
import { historyTable } from '../deployment-view';
import { deviceDetails, deviceJson, deviceTable, parseStatus, statusName } from '../device-view';
import type { HubSession } from '../hub-session';
import { parsePublicKey } from '../public-key';

// `fleetctl devices list|show|accept|reject|preauthorize|history`.

const PAGE_SIZE = 500;

export async function devicesList(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'status', 'filter', 'search', 'limit']);
  noOperands(ctx);
  const status = ctx.args.strings.has('status') ? parseStatus(ctx.args.strings.get('status')!) : AdmissionStatus.ADMISSION_STATUS_UNSPECIFIED;
  const limit = ctx.args.strings.has('limit') ? positiveInt('limit', ctx.args.strings.get('limit')!) : undefined;
  const filter = deviceFilter(ctx, status);
  const devices = await withSession(ctx, (s) => listDevices(s, filter, limit));
  if (ctx.json) return printJson(ctx, devices.map(deviceJson));
  if (!devices.length) return ctx.note('No devices found.\n');
  ctx.out(deviceTable(devices, ctx.useColor));
}

export async function devicesShow(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  if (ctx.operands.length !== 1) throw new UsageError('needs exactly one device ID');
  const device = await withSession(ctx, (s) => s.call((c) => c.getDevice, { id: ctx.operands[0] }));
  if (ctx.json) return printJson(ctx, deviceJson(device));
  ctx.out(deviceDetails(device));
}

/** `devices accept|reject ID...` or `--all-pending [--filter k=v] [--search T] [--dry-run]`. */
export async function devicesAdmit(ctx: CommandContext, verb: 'accept' | 'reject'): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'all-pending', 'filter', 'search', 'dry-run']);
  const status = verb === 'accept' ? AdmissionStatus.ADMISSION_STATUS_ACCEPTED : AdmissionStatus.ADMISSION_STATUS_REJECTED;
  if (ctx.args.booleans.has('all-pending')) {
    if (ctx.operands.length) throw new UsageError('give device IDs or --all-pending, not both');
    return admitAllPending(ctx, verb, status);
  }
  const selectors = ['filter', 'search', 'dry-run'].filter((f) => ctx.args.booleans.has(f) || ctx.args.strings.has(f) || ctx.args.lists.has(f));
  if (selectors.length) throw new UsageError(`${selectors.map((f) => `--${f}`).join(', ')} can only be used with --all-pending`);
  if (!ctx.operands.length) throw new UsageError('needs device IDs or --all-pending');

  const ids = [...new Set(ctx.operands)];
  const res = await withSession(ctx, (s) => s.call((c) => c.setAdmission, { status, ids, filter: undefined }));
  const changed = new Set(res.changed);
  const notFound = new Set(res.notFound);
  const unchanged = ids.filter((id) => !changed.has(id) && !notFound.has(id));
  if (ctx.json) printJson(ctx, { changed: res.changed, unchanged, notFound: res.notFound });
  else {
    for (const id of res.changed) ctx.out(`${pastTense(verb)} ${id}\n`);
    for (const id of unchanged) ctx.out(`${id} was already ${pastTense(verb)}\n`);
  }
  if (notFound.size) throw new CliError(`unknown device ${notFound.size === 1 ? 'id' : 'ids'} ${[...notFound].join(', ')}: see fleetctl devices list`, EXIT.failed);
}

async function admitAllPending(ctx: CommandContext, verb: 'accept' | 'reject', status: AdmissionStatus): Promise<void> {
  const filter = deviceFilter(ctx, AdmissionStatus.ADMISSION_STATUS_PENDING);
  const dryRun = ctx.args.booleans.has('dry-run');
  const ids = await withSession(ctx, async (s) =>
    dryRun ? (await listDevices(s, filter)).map((d) => d.id) : (await s.call((c) => c.setAdmission, { status, ids: [], filter })).changed,
  );
  if (ctx.json) return printJson(ctx, { changed: ids, dryRun });
  const count = `${ids.length} pending ${ids.length === 1 ? 'device' : 'devices'}`;
  ctx.out(`${dryRun ? `would ${verb}` : pastTense(verb)} ${count}${ids.length ? ':' : ''}\n`);
  for (const id of ids) ctx.out(`  ${id}\n`);
}

export async function devicesPreauthorize(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, [...GLOBAL_FLAGS, 'key', 'identity']);
  const keyText = ctx.args.strings.get('key');
  if (!keyText) throw new UsageError('needs --key PUBKEY (hex, base64 or a PEM file)');
  const publicKey = parsePublicKey(keyText);
  // `--identity a=1 b=2` (as fleet-agent identity prints it) and `--identity a=1 --identity b=2` both work.
  const identity = keyValues('identity', [...(ctx.args.lists.get('identity') ?? []), ...ctx.operands]);
  if (!identity.device_type) throw new UsageError('needs --identity device_type=TYPE (and any other identity attributes)');
  const device = await withSession(ctx, (s) => s.call((c) => c.preauthorizeDevice, { publicKey, identity }));
  if (ctx.json) return printJson(ctx, deviceJson(device));
  // Only the id on stdout, so scripts can write ID=$(fleetctl devices preauthorize ...).
  ctx.out(`${device.id}\n`);
  ctx.note(`preauthorized device ${device.id} (${statusName(device.status)})\n`);
}

function deviceFilter(ctx: CommandContext, status: AdmissionStatus): DeviceFilter {
  return { status, attributes: keyValues('filter', ctx.args.lists.get('filter') ?? []), text: ctx.args.strings.get('search') ?? '' };
}

async function listDevices(session: HubSession, filter: DeviceFilter, limit?: number): Promise<Device[]> {
  const devices: Device[] = [];
  let pageToken = '';
  do {
    const pageSize = limit ? Math.min(PAGE_SIZE, limit - devices.length) : PAGE_SIZE;
    const page = await session.call((c) => c.listDevices, { filter, pageSize, pageToken });
    devices.push(...page.devices);
    if (page.nextPageToken && page.nextPageToken === pageToken) throw new CliError('the hub returned the same page twice', EXIT.failed);
    pageToken = page.nextPageToken;
  } while (pageToken && (limit === undefined || devices.length < limit));
  return limit === undefined ? devices : devices.slice(0, limit);
}

function pastTense(verb: 'accept' | 'reject'): string {
  return `${verb}ed`;
}

/** `devices history ID`: the device's deployments, newest first. */
export async function devicesHistory(ctx: CommandContext): Promise<void> {
  allowFlags(ctx.args, GLOBAL_FLAGS);
  if (ctx.operands.length !== 1) throw new UsageError('needs exactly one device ID');
  const deviceId = ctx.operands[0];
  const { deployments } = await withSession(ctx, (s) => s.call((c) => c.listDeviceDeployments, { deviceId }));
  if (ctx.json) return printJson(ctx, deployments);
  if (!deployments.length) return ctx.note(`device ${deviceId} has had no deployments\n`);
  ctx.out(historyTable(deployments, ctx.useColor));
}
