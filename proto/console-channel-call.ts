import { decodeConsoleChannelResponse, encodeConsoleChannelRequest } from './channel-frame-codec';
import { ConsoleServiceService, type ConsoleChannelRequest, type ConsoleChannelResponse } from './gen/fleet/v1/console';
import { ClientStreamCall } from './stream-client-call';

/** The hub an operator's remote sessions dial, and as whom. */
export interface ConsoleChannelTarget {
  /** host:port */
  hub: string;
  caPem: string;
  /** The pinned certificate fingerprint (as certificateFingerprint gives it). */
  fingerprint: string;
  /** The operator token. */
  token: string;
}

/**
 * ConsoleService.Channel on the hub's bare stream (stream-wire.ts), as
 * fleetctl and the console open it: data frames encoded with one copy and
 * received as views (channel-frame-codec.ts).
 */
export function consoleChannelCall(target: ConsoleChannelTarget): ClientStreamCall<ConsoleChannelRequest, ConsoleChannelResponse> {
  return new ClientStreamCall<ConsoleChannelRequest, ConsoleChannelResponse>({
    hub: target.hub,
    caPem: target.caPem,
    fingerprint: target.fingerprint,
    method: ConsoleServiceService.channel.path,
    metadata: { authorization: `Bearer ${target.token}` },
    serialize: encodeConsoleChannelRequest,
    deserialize: decodeConsoleChannelResponse,
  });
}
