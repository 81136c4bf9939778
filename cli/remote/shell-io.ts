import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { CliError, EXIT } from '../cli-error';
import type { RemoteChannel } from './channel-client';
import { refusalError } from './refusal';

// Moves bytes between a shell channel and local streams: stdin to the
// device as credit allows (reading pauses when it runs out), data/stderr to
// stdout/stderr, granted back only once written, so a reader that stops
// (`| less`) stops the device. Resolves with the exit status fleetctl should
// end with: the command's code, or 128 + the signal number (as a shell does).

export interface ShellStreams {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export async function pumpShell(channel: RemoteChannel, io: ShellStreams): Promise<number> {
  let exit: { code: number; signal?: string } | undefined;
  channel.onFrame((frame) => {
    if (frame.$case === 'data' || frame.$case === 'stderr') {
      const bytes = frame.$case === 'data' ? frame.data : frame.stderr;
      (frame.$case === 'data' ? io.stdout : io.stderr).write(bytes, () => channel.consumed(bytes.byteLength));
    } else if (frame.$case === 'exit') exit = frame.exit;
  });
  void (async () => {
    for await (const chunk of io.stdin) if (!(await channel.write(chunk as Buffer))) return;
    if (!channel.isEnded) channel.send({ $case: 'eof', eof: {} });
  })().catch(() => undefined);
  const end = await channel.ended;
  // Output already handed to the streams is written before we report.
  await Promise.all([flushed(io.stdout), flushed(io.stderr)]);
  if (exit) return exitStatus(exit);
  if (end.error) throw refusalError(end.error.code, end.error.message);
  throw new CliError(`the session ended without an exit status: ${end.reason}`, EXIT.failed);
}

/** The command's code, or 128 + n for a signal (SIGTERM -> 143), as sh and ssh report it. */
export function exitStatus(exit: { code: number; signal?: string }): number {
  if (exit.signal) {
    const n = (constants.signals as Record<string, number>)[exit.signal];
    return n ? 128 + n : 255;
  }
  return exit.code;
}

function flushed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableEnded || stream.destroyed) return resolve();
    stream.write('', () => resolve());
  });
}
