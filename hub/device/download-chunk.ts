import type { DownloadChunk } from '../../proto/gen/fleet/v1/device';
import { DeviceServiceService } from '../../proto/gen/fleet/v1/device';
import { varintLength, writeVarint } from '../../proto/varint';

// DownloadChunk on the wire, encoded by hand into one buffer. The generated
// serializer costs three copies of the data per chunk (the writer's own
// buffer, finish(), Buffer.from) before grpc-js adds its frame: with 10,000
// devices fetching a small artifact at once that was ~150 KiB of hub memory
// per device in flight. Encoded chunks can also be shared: every device that
// downloads the same bytes gets the same buffer (serve-download.ts).

/** A DownloadChunk already encoded; the hub's Download definition sends its bytes as they are. */
export class EncodedChunk {
  constructor(readonly bytes: Buffer) {}
}

/** The protobuf bytes of DownloadChunk{offset, data, totalSize} (the same as DownloadChunk.encode), in one allocation. */
export function encodeDownloadChunk(offset: number, data: Uint8Array, totalSize: number): Buffer {
  const size =
    (offset ? 1 + varintLength(offset) : 0) + (data.length ? 1 + varintLength(data.length) + data.length : 0) + (totalSize ? 1 + varintLength(totalSize) : 0);
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  if (offset) {
    buf[at++] = 0x08; // field 1, varint
    at = writeVarint(buf, at, offset);
  }
  if (data.length) {
    buf[at++] = 0x12; // field 2, length-delimited
    at = writeVarint(buf, at, data.length);
    buf.set(data, at);
    at += data.length;
  }
  if (totalSize) {
    buf[at++] = 0x18; // field 3, varint
    at = writeVarint(buf, at, totalSize);
  }
  return buf;
}

/** DeviceService as the hub serves it: Download's responses encoded by hand, EncodedChunk passed through. */
export const HUB_DEVICE_SERVICE: typeof DeviceServiceService = {
  ...DeviceServiceService,
  download: {
    ...DeviceServiceService.download,
    responseSerialize: (value: DownloadChunk | EncodedChunk): Buffer =>
      value instanceof EncodedChunk ? value.bytes : encodeDownloadChunk(value.offset, value.data, value.totalSize),
  },
};
