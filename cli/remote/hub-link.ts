import type { ChannelOpen } from '../../proto/gen/fleet/v1/channel';
import { createConsoleClient } from '../../src-main/services/hub-client/hub-connection';
import { target, type CommandContext } from '../command-context';
import { checkFingerprint, probe } from '../hub-session';
import { ChannelRefused, openChannel, type HubLink, type OpenOptions, type RemoteChannel } from './channel-client';
import { refusalError } from './refusal';

// The hub connection of one remote command: trusted the same way as every
// other fleetctl command (probe, pinned certificate), kept open for the
// command's channels.

export interface OpenLink extends HubLink {
  close(): void;
}

export async function connectLink(ctx: CommandContext): Promise<OpenLink> {
  const t = target(ctx);
  const seen = await probe(t.hub);
  checkFingerprint(seen.fingerprint, t.fingerprint, t.trustSource);
  const client = createConsoleClient(t);
  return { client, token: t.token, hub: t.hub, caPem: t.caPem, fingerprint: seen.fingerprint, close: () => client.close() };
}

/** Opens a channel; a refusal becomes the one-line CliError for its code. */
export async function openExplained(link: HubLink, deviceId: string, open: ChannelOpen, options?: OpenOptions): Promise<RemoteChannel> {
  try {
    return await openChannel(link, deviceId, open, options);
  } catch (err) {
    if (err instanceof ChannelRefused) throw refusalError(err.code, err.message);
    throw err;
  }
}
