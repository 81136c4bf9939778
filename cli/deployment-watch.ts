import type { DeploymentDetail, DeploymentDevice } from '../proto/gen/fleet/v1/console';
import { bytesText, byStatusThenId, countsText, doneCount, FINAL_STATUSES, GOOD_STATUSES, rolloutShown, statusColor } from './deployment-view';
import { paint, progressBar } from './format';
import { phaseLines, windowStateText } from './rollout-view';

// `deployments show ID --watch`: polls the deployment until it is no longer
// active (finished, aborted, or halted: a halt waits for an operator, so a
// pipeline must not wait forever). On a terminal it redraws one frame in
// place (the overall counts, a bar per phase, a bar per device); in a pipe or
// a CI log it prints one plain line per change (device status, phase start),
// so the output reads as a history.

export interface WatchOutput {
  write(text: string): void;
  /** redraw in place (a terminal) or append plain lines */
  live: boolean;
  columns: number;
  rows: number;
  useColor: boolean;
}

export interface WatchOptions {
  intervalMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Returns the last detail seen, whose deployment is finished, aborted or halted. */
export async function watchDeployment(fetch: () => Promise<DeploymentDetail>, out: WatchOutput, options: WatchOptions): Promise<DeploymentDetail> {
  const sleep = options.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const seen = new Map<string, string>();
  let drawnLines = 0;
  for (;;) {
    const detail = await fetch();
    const deployment = detail.deployment!;
    if (out.live) {
      const frame = liveFrame(detail, out.columns, Math.max(1, out.rows - 4), out.useColor, now());
      out.write(`${drawnLines ? `\x1b[${drawnLines}A\r\x1b[J` : ''}${frame.join('\n')}\n`);
      drawnLines = frame.length;
    } else {
      out.write([...phaseChangeLines(detail, seen, now()), ...changeLines(detail, seen, now())].join(''));
    }
    if (deployment.status !== 'active') {
      const why = deployment.haltReason ? ` (${deployment.haltReason})` : '';
      if (!out.live) out.write(`${new Date(now()).toISOString()}  deployment ${deployment.id} ${deployment.status}${why}: ${countsText(deployment.counts)}\n`);
      return detail;
    }
    await sleep(options.intervalMs);
  }
}

/** Plain lines for devices whose status changed since the last call (updates `seen`). */
export function changeLines(detail: DeploymentDetail, seen: Map<string, string>, nowMs: number): string[] {
  const lines: string[] = [];
  for (const dev of [...detail.devices].sort(byStatusThenId)) {
    if (seen.get(dev.deviceId) === dev.status) continue;
    seen.set(dev.deviceId, dev.status);
    lines.push(`${new Date(nowMs).toISOString()}  ${dev.deviceId}  ${dev.status}${dev.reason ? `: ${dev.reason}` : ''}\n`);
  }
  return lines;
}

/** "phase 2 started" lines for phases that started since the last call (updates `seen`). */
export function phaseChangeLines(detail: DeploymentDetail, seen: Map<string, string>, nowMs: number): string[] {
  const lines: string[] = [];
  const phases = detail.deployment!.rollout?.phases ?? [];
  // One phase starts with the deployment: nothing to tell.
  if (phases.length < 2) return lines;
  for (const p of phases) {
    const key = `\0phase ${p.number}`;
    if (seen.get(key) === p.status) continue;
    seen.set(key, p.status);
    lines.push(`${new Date(nowMs).toISOString()}  phase ${p.number}  ${p.status} (${p.total} ${p.total === 1 ? 'device' : 'devices'})\n`);
  }
  return lines;
}

/** One screen: the overall line, then a line per device (as many as fit), every line cut to the width. */
export function liveFrame(detail: DeploymentDetail, columns: number, maxDeviceLines: number, useColor: boolean, now = Date.now()): string[] {
  const d = detail.deployment!;
  const done = doneCount(d);
  const head = [`deployment ${d.name} (${d.id}): ${d.status}${d.haltReason ? `: ${d.haltReason}` : ''}`, `${progressBar(d.total ? done / d.total : 1, 20)} ${done}/${d.total} done: ${countsText(d.counts)}`];
  const window = d.rollout ? windowStateText(d.rollout, now) : '';
  if (window) head.push(`window ${window}`);
  // A bar per phase, with how far its devices got (downloaded, paused, ...).
  if (d.rollout && rolloutShown(d.rollout)) head.push(...phaseLines(d.rollout, 10, progressBar));
  // Devices still working first: they are what a person watches.
  const devices = [...detail.devices].sort((a, b) => Number(FINAL_STATUSES.has(a.status)) - Number(FINAL_STATUSES.has(b.status)) || byStatusThenId(a, b));
  // Lines beyond the usual two heads (window, phases) come out of the devices' room.
  const room = Math.max(1, maxDeviceLines - 1 - (head.length - 2));
  const shown = devices.length > room ? devices.slice(0, room - 1) : devices;
  const widths = {
    id: Math.max(0, ...shown.map((dev) => dev.deviceId.length)),
    status: Math.max(0, ...shown.map((dev) => dev.status.length)),
    bar: 0,
  };
  // The bar takes what the id, the status, the gaps and "100% of 1023 MiB" leave.
  widths.bar = Math.min(30, Math.max(5, columns - widths.id - widths.status - 25));
  const lines = [...head.map((h) => fit(h, columns)), ...shown.map((dev) => deviceLine(dev, widths, columns, useColor))];
  if (shown.length < devices.length) lines.push(fit(`… and ${devices.length - shown.length} more devices`, columns));
  return lines;
}

function deviceLine(dev: DeploymentDevice, widths: { id: number; status: number; bar: number }, columns: number, useColor: boolean): string {
  const good = GOOD_STATUSES.has(dev.status);
  const fraction = good ? 1 : dev.bytesTotal > 0 ? dev.bytesDone / dev.bytesTotal : 0;
  const status = dev.status.padEnd(widths.status);
  const text = `${dev.deviceId.padEnd(widths.id)}  ${status}  ${progressBar(fraction, widths.bar)}  ${good ? '' : bytesText(dev)}${dev.reason ? `  ${dev.reason}` : ''}`.trimEnd();
  const line = fit(text, columns);
  const color = statusColor(dev.status);
  // Colour only the status word, after cutting, so the width stays right.
  if (!useColor || !color || line.length < widths.id + 2 + status.length) return line;
  const at = widths.id + 2;
  return `${line.slice(0, at)}${paint(status, color)}${line.slice(at + status.length)}`;
}

/** Cut to the terminal width: a wrapped line would break the redraw. */
function fit(text: string, columns: number): string {
  return text.length <= columns ? text : `${text.slice(0, Math.max(0, columns - 1))}…`;
}
