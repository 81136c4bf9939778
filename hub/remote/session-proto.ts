import type { AuditEntry, RemoteSession } from '../../proto/gen/fleet/v1/console';
import type { HubEvent, SessionRecord } from '../store/store';

export function toProtoSession(s: SessionRecord): RemoteSession {
  return {
    id: s.id,
    deviceId: s.deviceId,
    operator: s.operator,
    kind: s.kind,
    detail: s.detail,
    startedMs: s.startedMs,
    endedMs: s.endedMs || undefined,
    endReason: s.endReason,
    bytesToDevice: s.bytesToDevice,
    bytesFromDevice: s.bytesFromDevice,
    recordingBytes: s.recorded ? s.recordingBytes : undefined,
    recordingTruncated: s.recordingTruncated,
  };
}

/** Device events carry the whole device; the audit shows what changed about it, not its key and inventory. */
export function toAuditEntry(e: HubEvent): AuditEntry {
  const detail = e.device ? { status: e.device.status, online: e.device.online } : e.details ?? {};
  return { revision: e.revision, atMs: e.atMs, actor: e.actor, kind: e.kind, subject: e.entityId, detailJson: JSON.stringify(detail) };
}
