import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { HubCallError } from '../src-main/services/hub-client/hub-connection';
import { EXIT } from './cli-error';
import { checkFingerprint, hubError, probe } from './hub-session';

function callError(code: status, details: string): HubCallError {
  const err = Object.assign(new Error(details), { code, details, metadata: new Metadata() }) as ServiceError;
  return new HubCallError(err);
}

describe('hubError', () => {
  it.each([
    [status.UNAUTHENTICATED, 'unknown token', EXIT.hub, /^not authenticated: unknown token: check --token or FLEET_TOKEN, or run fleetctl login again$/],
    [status.PERMISSION_DENIED, 'viewer may not change admission', EXIT.hub, /^permission denied: viewer may not change admission: your operator role does not allow this; ask a hub admin$/],
    [status.UNAVAILABLE, 'No connection established', EXIT.hub, /^hub unreachable: No connection established: is fleet-hub running at h:1\?$/],
    [status.DEADLINE_EXCEEDED, 'Deadline exceeded', EXIT.hub, /^hub h:1 did not answer within 15 s$/],
    [status.NOT_FOUND, 'no device with id "x" on this hub', EXIT.failed, /^no device with id "x" on this hub$/],
    [status.INVALID_ARGUMENT, 'public_key must be 32 bytes', EXIT.failed, /^public_key must be 32 bytes$/],
  ])('maps gRPC status %i to a one-line message and exit code', (code, details, exit, message) => {
    const err = hubError(callError(code, details), 'h:1');
    expect(err.exitCode).toBe(exit);
    expect(err.message).toMatch(message);
  });
});

describe('checkFingerprint', () => {
  const a = 'AB:'.repeat(31) + 'AB';
  it('accepts the same fingerprint in any spelling', () => {
    expect(() => checkFingerprint(a, a.replace(/:/g, '').toLowerCase(), '--ca x')).not.toThrow();
  });
  it('names both fingerprints and where the trusted one came from', () => {
    const b = 'CD:'.repeat(31) + 'CD';
    expect(() => checkFingerprint(a, b, '--ca hub.crt')).toThrow(`hub certificate fingerprint ${a} does not match ${b} trusted from --ca hub.crt`);
  });
});

describe('probe', () => {
  it('refuses an address without a port as a usage error, before any network', async () => {
    await expect(probe('localhost')).rejects.toMatchObject({ exitCode: EXIT.usage, message: 'hub address must be HOST:PORT, got "localhost": e.g. --hub 127.0.0.1:7443' });
  });
});
