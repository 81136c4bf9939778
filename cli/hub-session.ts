import { status, type CallOptions, type ClientUnaryCall, type Metadata, type ServiceError } from '@grpc/grpc-js';
import type { ConsoleServiceClient } from '../proto/gen/fleet/v1/console';
import { normalizeFingerprint } from '../proto/tls-fingerprint';
import { createConsoleClient, HubCallError, probeHub, splitHostPort, unary, type HubProbeResult } from '../src-main/services/hub-client/hub-connection';
import { CliError, EXIT, UsageError } from './cli-error';

// One command's conversation with the hub. Every step has a deadline, so an
// unreachable hub is an error within seconds, never a hang; every gRPC failure
// becomes a one-line message and the exit code scripts branch on.

const PROBE_TIMEOUT_MS = 5_000;
const CALL_TIMEOUT_MS = 15_000;

export interface HubSessionTarget {
  hub: string;
  token: string;
  caPem: string;
  fingerprint: string;
  /** where the trusted certificate came from, named in mismatch errors */
  trustSource: string;
}

type UnaryMethod<Req, Res> = (req: Req, md: Metadata, opts: Partial<CallOptions>, cb: (err: ServiceError | null, res: Res) => void) => ClientUnaryCall;

export interface HubSession {
  readonly target: HubSessionTarget;
  call<Req, Res>(pick: (client: ConsoleServiceClient) => UnaryMethod<Req, Res>, req: Req): Promise<Res>;
  close(): void;
}

/** Reads the hub's certificate without trusting it; unreachable -> exit 3. */
export async function probe(hub: string): Promise<HubProbeResult> {
  try {
    splitHostPort(hub);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}: e.g. --hub 127.0.0.1:7443`);
  }
  try {
    return await probeHub(hub, PROBE_TIMEOUT_MS);
  } catch (err) {
    throw new CliError(`${(err as Error).message}: is fleet-hub running there? check --hub`, EXIT.hub);
  }
}

export function checkFingerprint(actual: string, trusted: string, trustSource: string): void {
  if (normalizeFingerprint(actual) !== normalizeFingerprint(trusted)) {
    throw new CliError(
      `hub certificate fingerprint ${actual} does not match ${normalizeFingerprint(trusted)} trusted from ${trustSource}: the hub was re-created or this is another server; check --ca or run fleetctl login again`,
      EXIT.hub,
    );
  }
}

/** Probes the hub, checks it is the trusted one, then opens the gRPC client. */
export async function openSession(target: HubSessionTarget): Promise<HubSession> {
  const seen = await probe(target.hub);
  checkFingerprint(seen.fingerprint, target.fingerprint, target.trustSource);
  const client = createConsoleClient(target);
  return {
    target,
    async call(pick, req) {
      try {
        return await unary(client, pick(client), req, target.token, CALL_TIMEOUT_MS);
      } catch (err) {
        throw hubError(err, target.hub);
      }
    },
    close: () => client.close(),
  };
}

/** The hub could not be reached or did not answer: worth retrying in a long-running command. */
export class HubUnreachableError extends CliError {
  constructor(message: string) {
    super(message, EXIT.hub);
  }
}

export function hubError(err: unknown, hub: string): CliError {
  if (!(err instanceof HubCallError)) return new CliError((err as Error).message, EXIT.failed);
  switch (err.code) {
    case status.UNAVAILABLE:
      return new HubUnreachableError(`${err.message}: is fleet-hub running at ${hub}?`);
    case status.DEADLINE_EXCEEDED:
      return new HubUnreachableError(`hub ${hub} did not answer within ${CALL_TIMEOUT_MS / 1000} s`);
    case status.UNAUTHENTICATED:
      return new CliError(`${err.message}: check --token or FLEET_TOKEN, or run fleetctl login again`, EXIT.hub);
    case status.PERMISSION_DENIED:
      return new CliError(`${err.message}: your operator role does not allow this; ask a hub admin`, EXIT.hub);
    default:
      return new CliError(err.message, EXIT.failed);
  }
}
