import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { enrollPayload } from '../../proto/enroll-payload';
import type { DeviceServiceClient, EnrollResponse } from '../../proto/gen/fleet/v1/device';
import { call } from './grpc-clients';

/** An ed25519 device identity as an agent would make it. */
export interface DeviceKey {
  publicKey: Buffer;
  privateKey: KeyObject;
}

export function makeDeviceKey(): DeviceKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x!;
  return { publicKey: Buffer.from(x, 'base64url'), privateKey };
}

/** Challenge + signed Enroll, exactly as an agent does it. */
export async function enroll(client: DeviceServiceClient, key: DeviceKey, identity: Record<string, string>): Promise<EnrollResponse> {
  const { nonce } = await call(client, client.challenge, {});
  const signature = sign(null, enrollPayload(nonce, key.publicKey, identity), key.privateKey);
  return call(client, client.enroll, { identity, publicKey: key.publicKey, nonce, signature });
}

