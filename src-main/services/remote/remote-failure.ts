import type { RemoteErrorInfo } from '../../common/console-api';

/** A refusal or failure of a remote session with the code the device or hub gave (outside-roots, forbidden, device-offline, ...). */
export class RemoteFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  info(): RemoteErrorInfo {
    return { code: this.code, message: this.message };
  }
}

/** Any error as it crosses the API; codes from direct mode and plain errors included. */
export function failureInfo(err: unknown): RemoteErrorInfo {
  if (err instanceof RemoteFailure) return err.info();
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'internal', message: typeof e?.message === 'string' ? e.message : String(err) };
}

/** API errors carry their code in the message (only the message crosses the bridge): "outside-roots: /etc is outside ...". */
export function asApiError(err: unknown): Error {
  const info = failureInfo(err);
  // A plain error (not connected, bad argument) has no code worth showing.
  return new Error(info.code === 'internal' && !(err instanceof RemoteFailure) ? info.message : `${info.code}: ${info.message}`);
}
