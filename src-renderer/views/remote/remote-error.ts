// Remote errors reach the renderer as "code: message" (the services keep the
// device's or hub's code in front). This turns them into what the operator
// should read: what happened, in plain words, then the device's own detail.

const EXPLAIN: Record<string, string> = {
  forbidden: 'Your role on the hub does not allow remote sessions (operator or admin needed).',
  'device-offline': 'The device is offline: it must be connected to the hub.',
  timeout: 'The device did not answer in time.',
  disabled: 'This device does not allow it: the feature is disabled in its remote configuration.',
  'too-many-sessions': 'Too many sessions are open on this device: close one first.',
  'outside-roots': 'Refused: the path is outside the folders this device allows.',
  'not-regular': 'Refused: only regular files can be transferred.',
  'too-large': 'Refused: the file is larger than this device allows.',
  'not-found': 'No such file or folder on the device.',
  permission: 'Permission denied on the device.',
  'checksum-mismatch': 'The file arrived damaged (sha256 differs); nothing was saved under its name.',
  busy: 'This file is being uploaded by another transfer.',
  'no-space': 'Not enough free space on the device.',
  'not-allowed': 'Refused: the device does not allow forwarding to this host and port.',
  'connect-failed': 'The device could not connect to that host and port.',
  misconfigured: 'The device’s remote configuration is wrong.',
  'connection-lost': 'The connection was lost.',
  cancelled: 'Cancelled.',
  'local-port': 'The local port cannot be used.',
  'local-folder': 'The download folder cannot be used.',
  'auth-failed': 'SSH login refused.',
  unreachable: 'The device cannot be reached over SSH.',
  'host-key-changed': 'The device’s SSH host key changed.',
};

export interface ExplainedError {
  code: string;
  title: string;
  detail: string;
}

export function explainRemoteError(err: unknown): ExplainedError {
  const text = err instanceof Error ? err.message : typeof err === 'object' && err && 'message' in err ? String((err as { message: unknown }).message) : String(err);
  const given = typeof err === 'object' && err && 'code' in err ? String((err as { code: unknown }).code) : '';
  const m = /^([a-z][a-z-]+): ([\s\S]*)$/.exec(text);
  const known = !!m && Object.hasOwn(EXPLAIN, m[1]);
  const code = given || (m ? m[1] : '');
  // An unknown code stays in the text, so nothing the device said is lost.
  const detail = !given && known ? m[2] : text;
  return { code, title: Object.hasOwn(EXPLAIN, code) ? EXPLAIN[code] : 'Failed.', detail };
}

export function errorText(err: unknown): string {
  const e = explainRemoteError(err);
  return `${e.title} ${e.detail}`.trim();
}
