// The exact bytes a device signs on enrollment. Hub and agent both build them
// here so the two can never disagree on the encoding.
//
// Layout: "fleet-enroll-v1\n" + nonce + "\n" + hex(public key) + "\n" +
// identity as JSON with keys sorted.
export function enrollPayload(nonce: string, publicKey: Uint8Array, identity: Record<string, string>): Buffer {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(identity).sort()) sorted[key] = identity[key];
  const text = `fleet-enroll-v1\n${nonce}\n${Buffer.from(publicKey).toString('hex')}\n${JSON.stringify(sorted)}`;
  return Buffer.from(text, 'utf8');
}
