import { CliError, EXIT, type ExitCode } from '../cli-error';

// One line per refusal code: what happened and what to do, and the exit
// code scripts branch on (3 when the hub refused the operator's role, as for
// every other fleetctl command; 1 for everything the device or the session
// refused). The device's own message (naming paths and limits) is kept.

const HINTS: Readonly<Record<string, { hint: string; exit?: ExitCode }>> = {
  forbidden: { hint: 'remote sessions need the operator or admin role; ask a hub admin', exit: EXIT.hub },
  'device-offline': { hint: 'the device is not connected to the hub; check it is powered and online (fleetctl devices show ID)' },
  timeout: { hint: 'the device did not dial the channel back in time; it may be overloaded or its network may block the hub' },
  disabled: { hint: "enable it in the device's agent config (the remote section)" },
  'too-many-sessions': { hint: 'close another session on this device, or raise remote.shell.maxSessions' },
  misconfigured: { hint: "fix the remote section of the device's agent config" },
  'outside-roots': { hint: 'only paths under the roots of remote.files.roots can be reached' },
  'not-regular': { hint: 'only regular files can be copied' },
  'too-large': { hint: 'the device refuses files over remote.files.maxFileBytes' },
  'not-found': { hint: 'check the device id (fleetctl devices list) and the path' },
  permission: { hint: "the device's agent user may not read or write there" },
  'checksum-mismatch': { hint: 'the bytes were damaged on the way; nothing was written under the real name, copy again' },
  busy: { hint: 'another transfer to the same file is running; wait for it' },
  'no-space': { hint: 'free space on the device' },
  'not-allowed': { hint: 'the device only forwards to the hosts and ports of remote.portForward.allow' },
  'connect-failed': { hint: 'nothing accepted the connection on the device side; check the service runs' },
  protocol: { hint: 'a fleetctl, hub and agent version mismatch?' },
  'hub-unavailable': { hint: 'the connection to the hub broke; run the command again', exit: EXIT.hub },
};

/** A refusal, its code kept for callers that handle some codes themselves. */
export class RefusalError extends CliError {
  constructor(
    readonly code: string,
    message: string,
    exitCode: ExitCode,
  ) {
    super(message, exitCode);
  }
}

/** A CliError for a refusal or an error frame with `code`. */
export function refusalError(code: string, message: string): RefusalError {
  const known = HINTS[code];
  const text = message || code;
  return new RefusalError(code, known ? `${text} [${code}]: ${known.hint}` : `${text} [${code}]`, known?.exit ?? EXIT.failed);
}
