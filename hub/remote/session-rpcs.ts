import { status, type ServerWritableStream } from '@grpc/grpc-js';
import { createReadStream } from 'node:fs';
import type {
  CloseSessionRequest,
  GetRecordingRequest,
  ListAuditRequest,
  ListAuditResponse,
  ListSessionsRequest,
  ListSessionsResponse,
  RecordingChunk,
  RemoteSession,
} from '../../proto/gen/fleet/v1/console';
import { requireRole } from '../auth/operator-auth';
import { decodePageToken, encodePageToken } from '../console/page-token';
import { RpcError } from '../rpc-error';
import type { Operator, SessionKind, SessionRecord } from '../store/store';
import type { RemoteHub } from './remote-hub';
import { toAuditEntry, toProtoSession } from './session-proto';

export type RecordingCall = ServerWritableStream<GetRecordingRequest, RecordingChunk>;

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
const KINDS: SessionKind[] = ['shell', 'command', 'file', 'port-forward'];
const RECORDING_CHUNK_BYTES = 64 * 1024;

/**
 * RemoteSession has no field for a pruned recording (yet): the end reason
 * says it, so a console showing the session shows why it cannot be played.
 */
function toListedSession(s: SessionRecord) {
  const proto = toProtoSession(s);
  if (s.recordingPrunedMs) proto.endReason = `${proto.endReason}; ${s.recordingPrunedReason}`;
  return proto;
}

// ListSessions, CloseSession, GetRecording and ListAudit (console.proto).
export function sessionRpcs(hub: RemoteHub) {
  const { store } = hub;
  return {
    async listSessions(_op: Operator, req: ListSessionsRequest): Promise<ListSessionsResponse> {
      if (req.kind && !KINDS.includes(req.kind as SessionKind)) throw new RpcError(status.INVALID_ARGUMENT, `kind must be one of ${KINDS.join(', ')}, got "${req.kind}"`);
      const pageSize = req.pageSize <= 0 ? DEFAULT_PAGE_SIZE : Math.min(req.pageSize, MAX_PAGE_SIZE);
      const token = decodePageToken(req.pageToken);
      const before = token === undefined ? undefined : Number(token);
      if (before !== undefined && !Number.isSafeInteger(before)) throw new RpcError(status.INVALID_ARGUMENT, 'page_token is not one ListSessions issued: start again without it');
      const page = await store.listSessions({ deviceId: req.deviceId || undefined, kind: (req.kind as SessionKind) || undefined, openOnly: req.openOnly }, pageSize, before);
      return { sessions: page.sessions.map(toListedSession), nextPageToken: page.nextBeforeSeq ? encodePageToken(String(page.nextBeforeSeq)) : '' };
    },

    async closeSession(op: Operator, req: CloseSessionRequest): Promise<RemoteSession> {
      requireRole(op, 'operator', 'closing a session');
      const session = req.id ? await store.getSession(req.id) : undefined;
      if (!session) throw new RpcError(status.NOT_FOUND, `no session with id "${req.id}" on this hub`);
      if (op.role !== 'admin' && session.operator !== op.name) {
        throw new RpcError(status.PERMISSION_DENIED, `session ${session.id} was opened by "${session.operator}": only they or an admin may close it`);
      }
      const closed = session.endedMs ? session : ((await hub.closeSession(session.id, op.name)) ?? (await store.getSession(session.id)) ?? session);
      return toListedSession(closed);
    },

    async listAudit(op: Operator, req: ListAuditRequest): Promise<ListAuditResponse> {
      requireRole(op, 'admin', 'reading the audit log');
      const limit = req.limit <= 0 ? DEFAULT_PAGE_SIZE : Math.min(req.limit, MAX_PAGE_SIZE);
      const entries = await store.auditEntries({ beforeRevision: req.beforeRevision, limit, kindPrefix: req.kindPrefix || undefined, subject: req.subject || undefined });
      return { entries: entries.map(toAuditEntry) };
    },

    /** Streams the asciicast file, reading only as fast as grpc-js sends. */
    async getRecording(op: Operator, call: RecordingCall): Promise<void> {
      requireRole(op, 'operator', 'playing a recording (it shows what was typed)');
      const id = call.request.sessionId;
      const session = id ? await store.getSession(id) : undefined;
      if (!session) throw new RpcError(status.NOT_FOUND, `no session with id "${id}" on this hub`);
      if (!session.recorded) throw new RpcError(status.NOT_FOUND, `session ${id} is a ${session.kind} session: only shell and command sessions are recorded`);
      if (session.recordingPrunedMs) {
        throw new RpcError(status.NOT_FOUND, `the recording of session ${id} is gone: ${session.recordingPrunedReason} on ${new Date(session.recordingPrunedMs).toISOString()}; the session itself is still listed`);
      }
      const file = createReadStream(hub.recordingPath(id), { highWaterMark: RECORDING_CHUNK_BYTES });
      call.once('cancelled', () => file.destroy());
      await new Promise<void>((resolve, reject) => {
        file.on('data', (chunk) => {
          if (!call.write({ data: chunk as Buffer })) {
            file.pause();
            call.once('drain', () => file.resume());
          }
        });
        file.once('end', resolve);
        file.once('close', resolve);
        file.once('error', (err: NodeJS.ErrnoException) =>
          reject(err.code === 'ENOENT' ? new RpcError(status.NOT_FOUND, `the recording of session ${id} is missing from the hub's data folder (recordings/)`) : err),
        );
      });
      if (!call.cancelled) call.end();
    },
  };
}
