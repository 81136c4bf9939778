import { CliError, EXIT } from '../cli-error';
import type { Frame, HubLink } from './channel-client';
import { openExplained } from './hub-link';
import { refusalError } from './refusal';

/** What the device answers for a folder it made (or found). */
export type MadeFolder = Extract<Frame, { $case: 'file' }>['file'];

/**
 * Makes a folder on the device and its missing parents, like mkdir -p (one
 * that exists is fine and keeps its mode); the device decides where, inside
 * remote.files.roots. Refusals are thrown as their CliError.
 */
export async function makeRemoteFolder(link: HubLink, device: string, path: string, mode?: number): Promise<MadeFolder> {
  const channel = await openExplained(link, device, { kind: { $case: 'file', file: { op: 'mkdir', path, ...(mode !== undefined ? { mode } : {}) } } }, { grant: false });
  let made: MadeFolder | undefined;
  channel.onFrame((frame) => {
    if (frame.$case === 'file') made = frame.file;
  });
  const end = await channel.ended;
  if (end.error) throw refusalError(end.error.code, end.error.message);
  if (!made) throw new CliError(`${device}:${path}: the device ended the channel without an answer (${end.reason}); was the folder made? check with fleetctl shell`, EXIT.failed);
  return made;
}
