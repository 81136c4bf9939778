import { UsageError } from '../cli-error';

// scp's rule for `fleetctl cp SRC DST`: an operand with a colon before any
// slash is DEVICE:PATH; anything else (./a:b, /tmp/x) is a local path.

export type CpOperand = { device: string; path: string } | { local: string };

export function parseCpOperand(text: string): CpOperand {
  const colon = text.indexOf(':');
  const slash = text.indexOf('/');
  if (colon > 0 && (slash === -1 || colon < slash)) return { device: text.slice(0, colon), path: text.slice(colon + 1) };
  if (colon === 0) throw new UsageError(`"${text}" names no device before the colon: write DEVICE:PATH`);
  return { local: text };
}

export type CpPlan = { direction: 'upload'; local: string; device: string; path: string } | { direction: 'download'; device: string; path: string; local: string };

export function planCopy(src: string, dst: string): CpPlan {
  const from = parseCpOperand(src);
  const to = parseCpOperand(dst);
  if ('device' in from && 'device' in to) throw new UsageError('copying from one device to another is not supported: copy to a local file first');
  if ('local' in from && 'local' in to) throw new UsageError('one of SRC and DST must be DEVICE:PATH (use cp(1) for local copies)');
  const remote = 'device' in from ? from : (to as { device: string; path: string });
  if (!remote.path.startsWith('/')) throw new UsageError(`${remote.device}:${remote.path}: the device path must be absolute (e.g. ${remote.device}:/data/file)`);
  if ('device' in from) return { direction: 'download', device: from.device, path: from.path, local: (to as { local: string }).local };
  return { direction: 'upload', local: from.local, device: remote.device, path: remote.path };
}
