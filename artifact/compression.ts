// Compressors and decompressors per payload compression, all streaming.
import { PassThrough, type Duplex } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { Compression } from './format';
import { zstdCompressStream, zstdDecompressStream } from './zstd-process';

export function createCompressor(compression: Compression): Duplex {
  switch (compression) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return createGzip({ level: 6 });
    case 'zstd':
      return zstdCompressStream();
  }
}

export function createDecompressor(compression: Compression): Duplex {
  switch (compression) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return createGunzip();
    case 'zstd':
      return zstdDecompressStream();
  }
}
