import type { RemoteSessionQuery, RemoteSessionRow } from '../../common/console-api';
import type { RemoteSession } from '../../../proto/gen/fleet/v1/console';
import type { HubSession } from '../connection/hub-session';
import { bearer, HubCallError, unary } from '../hub-client/hub-connection';
import type * as grpc from '@grpc/grpc-js';

/** Recordings bigger than this are refused here (the hub caps them well below). */
const MAX_RECORDING_BYTES = 64 * 1024 * 1024;

// The hub's record of remote sessions: the list, closing one, and a shell's
// asciicast v2 recording.
export function hubHistory(session: HubSession) {
  return {
    sessions: (query: RemoteSessionQuery = {}): Promise<RemoteSessionRow[]> =>
      session.call('listing remote sessions', async (client, token) => {
        const res = await unary(client, client.listSessions, { deviceId: query.deviceId ?? '', kind: query.kind ?? '', openOnly: query.openOnly ?? false, pageSize: query.limit ?? 200, pageToken: '' }, token);
        return res.sessions.map(sessionRow);
      }),
    closeSession: (id: string): Promise<RemoteSessionRow> =>
      session.call('closing a remote session', async (client, token) => sessionRow(await unary(client, client.closeSession, { id }, token))),
    recording: (sessionId: string): Promise<string> =>
      session.call('reading a recording', (client, token) =>
        new Promise<string>((resolve, reject) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const stream = client.getRecording({ sessionId }, bearer(token), { deadline: Date.now() + 60_000 });
          stream.on('data', (c: { data: Buffer }) => {
            size += c.data.byteLength;
            if (size > MAX_RECORDING_BYTES) {
              stream.cancel();
              reject(new Error(`the recording of ${sessionId} is over ${MAX_RECORDING_BYTES} bytes`));
            } else chunks.push(Buffer.from(c.data));
          });
          stream.on('error', (err: grpc.ServiceError) => reject(new HubCallError(err)));
          stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        }),
      ),
  };
}

function sessionRow(s: RemoteSession): RemoteSessionRow {
  return {
    id: s.id,
    deviceId: s.deviceId,
    operator: s.operator,
    kind: s.kind,
    detail: s.detail,
    startedMs: s.startedMs,
    endedMs: s.endedMs ?? 0,
    endReason: s.endReason,
    bytesToDevice: s.bytesToDevice,
    bytesFromDevice: s.bytesFromDevice,
    recordingBytes: s.recordingBytes ?? 0,
    recordingTruncated: s.recordingTruncated,
  };
}
