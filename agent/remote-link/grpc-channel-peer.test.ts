import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeChannelFrame, encodeChannelFrame } from '../../proto/channel-frame-codec';
import { ChannelFrame as ProtoFrame } from '../../proto/gen/fleet/v1/channel';
import { DeviceServiceService } from '../../proto/gen/fleet/v1/device';
import { listenShared, type SharedPort } from '../../proto/shared-port';
import { ClientStreamCall } from '../../proto/stream-client-call';
import { serveStreamSocket, type ServerStreamCall } from '../../proto/stream-server-call';
import { certificateFingerprint, pemToDer } from '../../proto/tls-fingerprint';
import type { ChannelFrame } from '../remote/channel-frame';
import { makeTestCertificate } from '../testing/scripted-hub';
import { waitFor } from '../testing/wait-for';
import { GrpcChannelPeer } from './grpc-channel-peer';

// The Channel call as a ChannelPeer, on the bare stream the agent dials
// (proto/stream-wire.ts, a real TLS connection on loopback) with the
// one-copy codec for data frames; the hub's side is a stream handler the
// test drives, decoding with the generated codec, so the bytes must be the
// same.

type HubCall = ServerStreamCall;

const cert = makeTestCertificate();
let port: SharedPort;
const calls: HubCall[] = [];

beforeAll(async () => {
  const methods = new Map([
    [DeviceServiceService.channel.path, { deserialize: (b: Buffer) => ProtoFrame.decode(b), serialize: (v: unknown) => Buffer.from(ProtoFrame.encode(v as ProtoFrame).finish()), handle: (call: HubCall) => void calls.push(call) }],
  ]);
  port = await listenShared({ host: '127.0.0.1', port: 0, certPem: cert.certPem, keyPem: cert.keyPem, grpcServer: new grpc.Server(), artifacts: (s) => s.destroy(), streams: (socket) => serveStreamSocket(socket, methods) });
});
afterAll(async () => {
  port.destroy();
  await port.stopListening();
});

function dial(): ClientStreamCall<ProtoFrame, ProtoFrame> {
  return new ClientStreamCall({
    hub: `127.0.0.1:${port.port}`,
    caPem: cert.certPem,
    fingerprint: certificateFingerprint(pemToDer(cert.certPem)),
    method: DeviceServiceService.channel.path,
    metadata: { 'fleet-channel-id': 'c1' },
    serialize: encodeChannelFrame,
    deserialize: decodeChannelFrame,
  });
}

/** A peer on a fresh call, and the hub's end of it with what it received. */
async function pair(): Promise<{ peer: GrpcChannelPeer; hub: HubCall; got: ProtoFrame['frame'][]; hubEnded: () => boolean }> {
  const n = calls.length;
  const peer = new GrpcChannelPeer(dial());
  peer.send({ $case: 'window', window: { bytes: 1 } }); // opens the call on the wire
  await waitFor('the call reaches the hub', () => calls.length > n);
  const hub = calls[n];
  const got: ProtoFrame['frame'][] = [];
  let ended = false;
  hub.on('data', (m: ProtoFrame) => got.push(m.frame));
  hub.on('end', () => (ended = true));
  hub.on('error', () => undefined);
  await waitFor('first frame', () => got.length > 0);
  got.length = 0;
  return { peer, hub, got, hubEnded: () => ended };
}

describe('GrpcChannelPeer', () => {
  it('carries every frame kind 1:1 both ways', async () => {
    const { peer, hub, got } = await pair();
    const out: ChannelFrame[] = [
      { $case: 'data', data: new Uint8Array([1, 2, 3]) },
      { $case: 'stderr', stderr: Buffer.from('err') },
      { $case: 'exit', exit: { code: 0, signal: 'SIGHUP' } },
      { $case: 'error', error: { code: 'outside-roots', message: 'no' } },
      { $case: 'file', file: { size: 5_000_000_000, mode: 0o640, mtimeMs: 1_700_000_000_000, offset: 7 } },
      { $case: 'eof', eof: { sha256: 'ab'.repeat(32) } },
      { $case: 'listing', listing: { path: '/data', entries: [{ name: 'a', type: 'file', size: 1, mode: 0o600, mtimeMs: 2 }], nextCursor: 'a' } },
    ];
    for (const f of out) peer.send(f);
    await waitFor('all frames at the hub', () => got.length === out.length);
    expect(got.map((f) => ({ ...f, ...(f?.$case === 'data' ? { data: new Uint8Array(f.data) } : {}) }))).toEqual(out);

    const seen: ChannelFrame[] = [];
    peer.onFrame((f) => seen.push(f));
    const back: NonNullable<ProtoFrame['frame']>[] = [
      { $case: 'data', data: Buffer.from('keys') },
      { $case: 'resize', resize: { cols: 120, rows: 40 } },
      { $case: 'window', window: { bytes: 65536 } },
      { $case: 'eof', eof: {} },
    ];
    for (const frame of back) hub.write({ frame });
    await waitFor('all frames at the device', () => seen.length === back.length);
    expect(seen).toEqual(back);
    peer.close('done');
  });

  it('keeps frames that arrive before the first listener, and a close behind them', async () => {
    const { peer, hub } = await pair();
    let reason = '';
    peer.onClose((r) => (reason = r));
    hub.write({ frame: { $case: 'data', data: Buffer.from('early') } });
    hub.write({ frame: { $case: 'close', close: { reason: 'console closed' } } });
    await new Promise((r) => setTimeout(r, 100));
    expect(reason).toBe('');
    const seen: string[] = [];
    peer.onFrame((f) => seen.push(f.$case === 'data' ? Buffer.from(f.data).toString() : f.$case));
    await waitFor('close after the held frame', () => reason !== '');
    expect(seen).toEqual(['early']);
    expect(reason).toBe('console closed');
    expect(peer.closed).toBe(true);
  });

  it('close(reason) is a close frame and the end of the call', async () => {
    const { peer, got, hubEnded } = await pair();
    let reason = '';
    peer.onClose((r) => (reason = r));
    peer.close('exit');
    expect(reason).toBe('exit');
    expect(peer.closed).toBe(true);
    peer.send({ $case: 'data', data: Buffer.from('late') }); // dropped
    await waitFor('hub sees the end', hubEnded);
    expect(got).toEqual([{ $case: 'close', close: { reason: 'exit' } }]);
  });

  it('the hub ending the call, or failing it, ends the peer; a late onClose still hears it', async () => {
    const a = await pair();
    let reason = '';
    a.peer.onClose((r) => (reason = r));
    a.hub.end();
    await waitFor('end', () => reason !== '');
    expect(reason).toBe('the hub ended the channel');

    const b = await pair();
    b.hub.emit('error', { code: grpc.status.NOT_FOUND, details: 'no channel x' });
    await waitFor('closed', () => b.peer.closed);
    const late = await new Promise<string>((resolve) => b.peer.onClose(resolve));
    expect(late).toMatch(/NOT_FOUND: no channel x/);
  });
});
