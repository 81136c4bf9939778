import type { Readable } from 'node:stream';

// Reads a byte stream in flowing mode and hands on its buffers in groups of
// at least `minBytes` (the last group excepted), as they came: no copy. An
// async iterator over the stream itself costs a promise per buffer, and an
// HTTP/2 download arrives as 16 KiB frames cut by TLS records into pieces
// averaging 8 KiB — about 130,000 per GiB. The stream is paused while
// `maxHeld` bytes wait for the consumer, so flow control holds the sender.
//
// When the stream fails, what arrived before is handed on first, then the
// error is thrown. A stream that closes without end or error just ends (the
// caller checks whether everything came).

export async function* gatherFrames(source: Readable, minBytes: number, maxHeld: number): AsyncGenerator<Buffer[]> {
  let parts: Buffer[] = [];
  let held = 0;
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (part: Buffer): void => {
    parts.push(part);
    held += part.length;
    if (held >= maxHeld) source.pause();
    if (held >= minBytes) signal();
  };
  const onEnd = (): void => {
    done = true;
    signal();
  };
  const onError = (err: unknown): void => {
    failure ??= err;
    onEnd();
  };
  source.on('data', onData);
  source.once('end', onEnd);
  source.once('close', onEnd);
  source.once('error', onError);
  try {
    for (;;) {
      if (held >= minBytes || (done && held > 0)) {
        const group = parts;
        parts = [];
        held = 0;
        // Let the next bytes arrive while the consumer works on these.
        if (!done && source.isPaused()) source.resume();
        yield group;
      } else if (done) {
        break;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
    if (failure !== undefined) throw failure;
  } finally {
    source.off('data', onData);
    source.off('end', onEnd);
    source.off('close', onEnd);
    source.off('error', onError);
  }
}
