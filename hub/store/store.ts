import type { QueryCondition } from '../rollouts/device-query';
import type { WindowConfig } from '../rollouts/maintenance-window';
import type { RolloutConfig } from '../rollouts/rollout-config';
import type { Stage } from '../rollouts/stages';

// The hub's storage contract. SQLite (sqlite-store.ts) is the embedded
// default; a PostgreSQL store for larger fleets implements the same interface,
// which is why every method returns a Promise even though SQLite answers
// synchronously.

export type DeviceStatus = 'pending' | 'accepted' | 'rejected';
export type OperatorRole = 'viewer' | 'operator' | 'admin';

export interface DeviceRecord {
  /** Derived from the public key (see auth/device-key.ts). */
  id: string;
  status: DeviceStatus;
  identity: Record<string, string>;
  /** Raw 32-byte ed25519 public key. */
  publicKey: Buffer;
  inventory: Record<string, string>;
  online: boolean;
  lastSeenMs: number;
  createdMs: number;
  updatedMs: number;
  /** Revision of the last event that changed this device. */
  revision: number;
}

export type EventKind =
  | 'device.enrolled'
  | 'device.preauthorized'
  | 'device.admission'
  | 'device.online'
  | 'device.offline'
  | 'device.inventory'
  | 'hub.created'
  | 'operator.created'
  | 'operator.token_set'
  | 'artifact.uploaded'
  | 'deployment.created'
  | 'deployment.aborted'
  | 'deployment.finished'
  /** Rollout control (docs/rollouts.md). */
  | 'deployment.phase-started'
  | 'deployment.continued'
  | 'deployment.paused'
  | 'deployment.halted'
  | 'deployment.resumed'
  | 'deployment.device-joined'
  | 'deployment.device-left'
  | 'dynamic-group.changed'
  | 'group.window'
  /** A device reached a final status in a deployment (progress makes no events). */
  | 'deployment.device'
  | 'group.changed'
  /** Remote sessions (docs/remote-sessions.md): actor = the operator, entity = the device. */
  | 'session.opened'
  | 'session.closed'
  | 'session.refused'
  /** Recording retention removed a session's recording (actor = hub, entity = the device). */
  | 'session.recording-pruned';

/** One entry of the ordered event log: the audit trail and the Watch feed. */
export interface HubEvent {
  revision: number;
  atMs: number;
  /** Operator name, `device:<id>` or `hub`. */
  actor: string;
  kind: EventKind;
  entityId: string;
  /** The device after the change, for device.* events. */
  device?: DeviceRecord;
  /** Extra facts for events that are not device snapshots. */
  details?: Record<string, string>;
}

export interface Operator {
  name: string;
  role: OperatorRole;
}

export interface DeviceFilter {
  status?: DeviceStatus;
  /** Exact matches; a key present in identity is matched there, else in inventory. */
  attributes?: Record<string, string>;
  /** Case-insensitive substring of the id or any identity/inventory value. */
  text?: string;
}

export interface DevicePage {
  devices: DeviceRecord[];
  total: number;
  /** Id to continue after, absent on the last page. */
  nextAfterId?: string;
}

export interface NewDevice {
  id: string;
  publicKey: Buffer;
  identity: Record<string, string>;
}

/** One presence fact gathered by the hub between two flushes. */
export interface PresenceChange {
  deviceId: string;
  /** Set to change the online flag (appends an event when it changes). */
  online?: boolean;
  lastSeenMs: number;
  actor: string;
}

/** One inventory report of a device: full replacement or patch (empty value deletes). */
export interface InventoryUpdate {
  deviceId: string;
  attributes: Record<string, string>;
  full: boolean;
  actor: string;
}

export interface AdmissionResult {
  changed: string[];
  notFound: string[];
}

/** Signature status of a stored artifact; bad signatures are never stored. */
export type ArtifactSignatureStatus = 'trusted' | 'untrusted-key' | 'unsigned';

/** An uploaded, verified artifact; its file is DATA/artifacts/sha256/<id>. */
export interface ArtifactRecord {
  /** sha256 (hex) of the whole file. */
  id: string;
  name: string;
  version: string;
  group: string;
  deviceTypes: string[];
  provides: Record<string, string>;
  size: number;
  signatureStatus: ArtifactSignatureStatus;
  /** Empty when unsigned. */
  keyId: string;
  uploadedMs: number;
  uploadedBy: string;
  /** e.g. "rootfs-image (gzip)". */
  payloadSummary: string;
}

/** Per-device status in a deployment (docs/deployments.md). */
export type DeploymentDeviceStatus =
  | 'pending'
  | 'downloading'
  | 'paused-before-install'
  | 'installing'
  | 'paused-before-reboot'
  | 'rebooting'
  | 'verifying'
  | 'paused-before-commit'
  | 'committing'
  | 'success'
  | 'failure'
  | 'rolled-back'
  | 'already-installed'
  | 'incompatible'
  | 'aborted';

export type DeploymentStatus = 'active' | 'halted' | 'finished' | 'aborted';

export interface DeploymentRecord {
  id: string;
  name: string;
  artifactId: string;
  artifactName: string;
  artifactVersion: string;
  artifactSize: number;
  status: DeploymentStatus;
  allowDowngrade: boolean;
  force: boolean;
  createdMs: number;
  createdBy: string;
  /** 0 until every device is final. */
  finishedMs: number;
  /** 0 unless aborted. */
  abortedMs: number;
  abortedBy: string;
  total: number;
  /** Devices per status (only statuses with at least one device). */
  counts: Partial<Record<DeploymentDeviceStatus, number>>;
  /** Why it is halted; '' otherwise. */
  haltReason: string;
  rollout: RolloutConfig;
}

export interface DeploymentDeviceRecord {
  deploymentId: string;
  deviceId: string;
  status: DeploymentDeviceStatus;
  bytesDone: number;
  bytesTotal: number;
  reason: string;
  /** Highest report seq applied; 0 for statuses the hub set itself. */
  seq: number;
  /** 0 until the device's first report. */
  startedMs: number;
  updatedMs: number;
  /** 0 until the status is final. */
  finishedMs: number;
  artifactName: string;
  artifactVersion: string;
  deploymentName: string;
  /** 1-based. */
  phase: number;
  /** Retries used so far. */
  attempt: number;
  /** How far the operator released this device by itself (0 none, 1 install, 2 reboot, 3 commit). */
  released: number;
}

export interface NewDeployment {
  id: string;
  name: string;
  artifact: ArtifactRecord;
  allowDowngrade: boolean;
  force: boolean;
  createdBy: string;
  createdMs: number;
  /** Each target with the status the hub gives it at creation (pending, incompatible or already-installed) and its 1-based phase. */
  targets: { deviceId: string; status: DeploymentDeviceStatus; reason: string; phase?: number }[];
  /** Absent: one phase started at once, nothing else. */
  rollout?: RolloutConfig;
}

/** A device's report about one deployment, after the hub judged it newer than what it holds. */
export interface UpdateReportRecord {
  deploymentId: string;
  deviceId: string;
  status: DeploymentDeviceStatus;
  bytesDone: number;
  bytesTotal: number;
  reason: string;
  seq: number;
  /** The attempt the report belongs to; reports of another attempt than the stored one are not applied. */
  attempt?: number;
  /** Lines to append to the device's log for this deployment. */
  logLines: string[];
  atMs: number;
}

export interface AppliedReports {
  /** Applied reports with a final status (also when it was already that status). */
  finals: { deploymentId: string; deviceId: string; status: DeploymentDeviceStatus }[];
  /** Deployments whose last device became final in this batch. */
  finished: string[];
  /** Failed devices offered the deployment again (they are pending again, also listed in finals). */
  retried?: { deploymentId: string; deviceId: string; attempt: number }[];
  /** Deployments halted by a failure threshold in this batch. */
  halted?: { deploymentId: string; reason: string }[];
  /** Phases started automatically in this batch. */
  phasesStarted?: PhaseStart[];
}

export interface PhaseStart {
  deploymentId: string;
  /** 1-based. */
  phase: number;
}

export interface PhaseRecord {
  /** 1-based. */
  number: number;
  /** 0 while waiting. */
  startedMs: number;
  /** Release level given to the whole phase. */
  released: number;
  total: number;
  counts: Partial<Record<DeploymentDeviceStatus, number>>;
}

/** What a device should do next: its oldest deployment that is not final, with its own row there. */
export interface DeviceWork {
  deployment: DeploymentRecord;
  device: DeploymentDeviceRecord;
  phaseStartedMs: number;
}

/** A device waiting at a pause, with how far it is released (its own level or its phase's, the higher). */
export interface PausedDevice {
  deviceId: string;
  status: DeploymentDeviceStatus;
  phase: number;
  level: number;
}

export interface ContinueRequest {
  /** The pause point to release (with those before it); undefined: each device's next one. */
  stage?: Stage;
  /** 1-based; 0 = whole deployment. */
  phase: number;
  deviceIds: string[];
}

export interface ContinueResult {
  deployment: DeploymentRecord;
  /** A phase started by this continue (0 none). */
  startedPhase: number;
  /** Phases and devices whose release level went up. */
  releasedPhases: number[];
  releasedDevices: string[];
}

export interface DynamicGroupRecord {
  name: string;
  query: QueryCondition[];
  createdMs: number;
  createdBy: string;
}

export interface GroupWindowRecord {
  group: string;
  dynamic: boolean;
  window: WindowConfig;
  setBy: string;
  setMs: number;
}

/** Thrown for a rollout action the deployment's state does not allow (FAILED_PRECONDITION). */
export class RolloutStateError extends Error {}

/** Thrown for something missing (NOT_FOUND). */
export class RolloutNotFoundError extends Error {}

export interface AbortResult {
  deployment: DeploymentRecord;
  /** Devices that were pending and are now aborted. */
  abortedPending: string[];
  /** Devices working on it (not pending, not final): they must roll back. */
  inProgress: string[];
}

export interface GroupRecord {
  name: string;
  deviceIds: string[];
}

export type SessionKind = 'shell' | 'command' | 'file' | 'port-forward';

/** One remote session (a console Channel call paired with a device Channel call). */
export interface SessionRecord {
  id: string;
  deviceId: string;
  operator: string;
  kind: SessionKind;
  /** The command, `op path` of a file operation, or `host:port`; '' for an interactive shell. */
  detail: string;
  startedMs: number;
  /** 0 while open. */
  endedMs: number;
  endReason: string;
  bytesToDevice: number;
  bytesFromDevice: number;
  /** Whether the hub records it (asciicast v2, shells and commands). */
  recorded: boolean;
  recordingBytes: number;
  recordingTruncated: boolean;
  /** When retention removed the recording (unix ms); 0 while it is kept. */
  recordingPrunedMs: number;
  /** Why, for people: `recording pruned by retention (older than 90 days)`. */
  recordingPrunedReason: string;
}

/** A recording retention may look at (recorded, not pruned yet); `endedMs` 0 = still being written. */
export interface KeptRecording {
  id: string;
  deviceId: string;
  endedMs: number;
  recordingBytes: number;
}

export type NewSession = Pick<SessionRecord, 'id' | 'deviceId' | 'operator' | 'kind' | 'detail' | 'startedMs' | 'recorded'>;

export type SessionEnd = Pick<SessionRecord, 'endedMs' | 'endReason' | 'bytesToDevice' | 'bytesFromDevice' | 'recordingBytes' | 'recordingTruncated'>;

/** A session the hub refused before it started (role, device offline, the device's own refusal, timeout). */
export interface SessionRefusal {
  deviceId: string;
  operator: string;
  kind: SessionKind;
  detail: string;
  code: string;
  message: string;
}

export interface SessionFilter {
  deviceId?: string;
  kind?: SessionKind;
  openOnly?: boolean;
}

export interface AuditQuery {
  /** Entries below this revision; 0/undefined: from the newest. */
  beforeRevision?: number;
  limit: number;
  kindPrefix?: string;
  /** The entity (device, deployment, group, operator, ...) the entry is about. */
  subject?: string;
}

/** Thrown when aborting a deployment that already finished. */
export class DeploymentFinishedError extends Error {
  constructor(readonly deploymentId: string) {
    super(`deployment ${deploymentId} already finished: there is nothing left to abort`);
  }
}

export interface HubStore {
  readonly hubId: string;
  /** Secret for HMAC-signed nonces and device tokens; never leaves the hub. */
  readonly secret: Buffer;

  /** Listener runs after each commit with that commit's events, in revision order. */
  subscribe(listener: (events: HubEvent[]) => void): () => void;
  headRevision(): Promise<number>;
  /** Lowest revision still in the log (head + 1 when the log is empty). */
  oldestRevision(): Promise<number>;

  getDevice(id: string): Promise<DeviceRecord | undefined>;
  /** Creates a PENDING device for an unknown key; returns the stored device either way. */
  enrollDevice(device: NewDevice, actor: string): Promise<DeviceRecord>;
  /** Creates the device ACCEPTED, or sets an existing one ACCEPTED. */
  preauthorizeDevice(device: NewDevice, actor: string): Promise<DeviceRecord>;
  /** By ids (when non-empty) or else every device matching the filter; one transaction. */
  setAdmission(target: { ids: string[]; filter?: DeviceFilter }, status: DeviceStatus, actor: string): Promise<AdmissionResult>;
  /** Only the admission status of a device (undefined: unknown), without reading its record. */
  deviceStatus(id: string): Promise<DeviceStatus | undefined>;
  /** Full replacement or patch (empty value deletes). Returns the device when something changed. */
  updateInventory(id: string, attributes: Record<string, string>, full: boolean, actor: string): Promise<DeviceRecord | undefined>;
  /** Applies inventory reports in order, the ones that change something in one transaction. */
  applyInventories(updates: InventoryUpdate[]): Promise<void>;
  /** Applies a batch of presence facts in one transaction. */
  applyPresence(changes: PresenceChange[]): Promise<void>;
  /** Devices left online by a previous run that did not shut down cleanly. */
  markAllOffline(actor: string): Promise<number>;
  listDevices(filter: DeviceFilter, pageSize: number, afterId?: string): Promise<DevicePage>;
  /** How many devices have this admission status (an indexed count). */
  countDevices(status: DeviceStatus): Promise<number>;
  /**
   * Devices whose revision is above `revision`, lowest first, and the head
   * revision read consistently with them: when fewer than `limit` come back,
   * every device change up to `head` is reflected in what was read.
   */
  devicesChangedAfter(revision: number, limit: number): Promise<{ devices: DeviceRecord[]; head: number }>;
  /** Events after `revision`, oldest first (audit trail). */
  eventsAfter(revision: number, limit: number): Promise<HubEvent[]>;

  /** Creates an operator with a fresh random token and returns it (only its hash is stored). */
  createOperator(name: string, role: OperatorRole, actor: string): Promise<{ name: string; role: OperatorRole; token: string }>;
  /** Makes `token` the operator's token (creating the operator if needed). */
  setOperatorToken(name: string, role: OperatorRole, token: string, actor: string): Promise<void>;
  operatorByToken(token: string): Promise<Operator | undefined>;

  /**
   * Records an artifact and appends `artifact.uploaded` (actor = uploader) in
   * one transaction. When the id is already stored nothing changes and the
   * stored record comes back with created = false.
   */
  addArtifact(artifact: ArtifactRecord): Promise<{ artifact: ArtifactRecord; created: boolean }>;
  getArtifact(id: string): Promise<ArtifactRecord | undefined>;
  /** Newest upload first. */
  listArtifacts(): Promise<ArtifactRecord[]>;
  /** The newest upload with this artifact name. */
  newestArtifactNamed(name: string): Promise<ArtifactRecord | undefined>;
  /** The devices among `ids` that exist (any order). */
  getDevices(ids: string[]): Promise<DeviceRecord[]>;

  /**
   * Records a deployment and its targets and appends `deployment.created`
   * in one transaction; when every target is already final it is finished
   * at once (`deployment.finished`).
   */
  createDeployment(deployment: NewDeployment): Promise<DeploymentRecord>;
  getDeployment(id: string): Promise<DeploymentRecord | undefined>;
  /** Newest first. */
  listDeployments(opts: { status?: DeploymentStatus; limit: number }): Promise<DeploymentRecord[]>;
  /** Every target of a deployment, by device id. */
  deploymentDevices(deploymentId: string): Promise<DeploymentDeviceRecord[]>;
  getDeploymentDevice(deploymentId: string, deviceId: string): Promise<DeploymentDeviceRecord | undefined>;
  /** A device's deployments, newest first. */
  deviceDeployments(deviceId: string): Promise<DeploymentDeviceRecord[]>;
  /** The device's deployments whose status is not final, oldest first. */
  openDeployments(deviceId: string): Promise<DeploymentRecord[]>;
  /** Whether the device is a target of any deployment of this artifact. */
  deviceMayDownload(deviceId: string, artifactId: string): Promise<boolean>;
  /**
   * Aborts an active deployment: pending devices become aborted, the
   * deployment aborted (`deployment.aborted`, and `deployment.finished` when
   * nothing is left in progress). An already aborted deployment comes back
   * unchanged; undefined when unknown. Throws for a finished one.
   */
  abortDeployment(id: string, actor: string): Promise<AbortResult | undefined>;
  /**
   * Applies device reports in one transaction. A report is applied only when
   * its seq is above the stored one and it does not replace a final status
   * with a non-final one; log lines of applied reports are appended (the
   * newest DEPLOYMENT_LOG_LINES kept).
   */
  applyUpdateReports(reports: UpdateReportRecord[]): Promise<AppliedReports>;
  /** The device's log lines for a deployment, oldest first. */
  deploymentLog(deploymentId: string, deviceId: string): Promise<string[]>;

  // Rollout control (docs/rollouts.md).
  /** The phases of a deployment with their device counts, in order. */
  deploymentPhases(id: string): Promise<PhaseRecord[]>;
  /** The device's oldest deployment that is not final (for its next command). */
  deviceWork(deviceId: string): Promise<DeviceWork | undefined>;
  /** Devices of the deployment waiting at a pause. */
  pausedDevices(deploymentId: string): Promise<PausedDevice[]>;
  /** The release level of one device (its own or its phase's, the higher); undefined when not a target. */
  releaseLevel(deploymentId: string, deviceId: string): Promise<number | undefined>;
  /** A deployment's status and rollout without its counts (cheap; for every paused report). */
  rolloutState(id: string): Promise<{ status: DeploymentStatus; rollout: RolloutConfig } | undefined>;
  /** Deployments that are active or halted, oldest first (counts left empty). */
  openRollouts(): Promise<DeploymentRecord[]>;
  /**
   * Starts a waiting phase (`deployment.phase-started`); false when it had
   * started already or the deployment is not active. Throws
   * RolloutNotFoundError / RolloutStateError.
   */
  startPhase(id: string, phase: number, actor: string, why: string): Promise<boolean>;
  /** Operator continue (`deployment.continued` / `deployment.phase-started`). */
  continueDeployment(id: string, req: ContinueRequest, actor: string): Promise<ContinueResult>;
  /** Halts an active deployment by hand (`deployment.paused`); halted ones come back unchanged. */
  pauseDeployment(id: string, reason: string, actor: string): Promise<DeploymentRecord>;
  /** A halted deployment becomes active (`deployment.resumed`); phases due start at once. */
  resumeDeployment(id: string, actor: string): Promise<{ deployment: DeploymentRecord; phasesStarted: PhaseStart[] }>;
  /** Deployment-level events (not the per-device ones), oldest first. */
  deploymentHistory(id: string): Promise<HubEvent[]>;
  /**
   * Adds a device that came to match the deployment's dynamic group, in the
   * last phase (`deployment.device-joined`). Undefined when it is already a
   * target, the deployment is not open, or max_devices is reached.
   */
  joinDeployment(id: string, target: { deviceId: string; status: DeploymentDeviceStatus; reason: string }, actor: string): Promise<DeploymentDeviceRecord | undefined>;
  /** Removes a target that has not started (hub status pending, no report) (`deployment.device-left`); false otherwise. */
  leaveDeployment(id: string, deviceId: string, actor: string): Promise<boolean>;

  /** Creates (or with replace, replaces) a dynamic group (`dynamic-group.changed`). Throws RolloutStateError when it exists and replace is false. */
  saveDynamicGroup(group: DynamicGroupRecord, replace: boolean): Promise<DynamicGroupRecord>;
  listDynamicGroups(): Promise<DynamicGroupRecord[]>;
  getDynamicGroup(name: string): Promise<DynamicGroupRecord | undefined>;
  /** Undefined when unknown. */
  deleteDynamicGroup(name: string, actor: string): Promise<DynamicGroupRecord | undefined>;
  /** Every accepted device (for matching dynamic groups). */
  acceptedDevices(): Promise<DeviceRecord[]>;
  /** Sets (window given) or removes a group's maintenance window (`group.window`); returns the stored one. */
  setGroupWindow(group: string, dynamic: boolean, window: WindowConfig | undefined, actor: string): Promise<GroupWindowRecord | undefined>;
  groupWindow(group: string, dynamic: boolean): Promise<GroupWindowRecord | undefined>;
  /** By group name. */
  groupWindows(): Promise<GroupWindowRecord[]>;

  /** Adds and removes members (the caller checks that added ids exist); appends `group.changed` when something changed. */
  setGroupMembers(name: string, add: string[], remove: string[], actor: string): Promise<GroupRecord>;
  /** Groups with at least one member, by name. */
  listGroups(): Promise<GroupRecord[]>;
  /** Device ids of a group (empty when it has none). */
  groupMembers(name: string): Promise<string[]>;

  // Remote sessions (docs/remote-sessions.md).
  /** Records an open session and appends `session.opened` (actor = operator, entity = device). */
  openSession(session: NewSession): Promise<SessionRecord>;
  /** Records the end and appends `session.closed`; a session already ended comes back unchanged. Undefined when unknown. */
  endSession(id: string, end: SessionEnd, details?: Record<string, string>): Promise<SessionRecord | undefined>;
  /** Appends `session.refused` (actor = operator, entity = device). */
  recordSessionRefusal(refusal: SessionRefusal): Promise<void>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** Newest first; `beforeSeq` continues a previous page. */
  listSessions(filter: SessionFilter, pageSize: number, beforeSeq?: number): Promise<{ sessions: SessionRecord[]; nextBeforeSeq?: number }>;
  /** Ends sessions a previous run left open (its relays died with it); returns how many. */
  endOrphanSessions(reason: string): Promise<number>;
  /** Recordings not pruned yet (open sessions' included), oldest end first, open ones last. */
  keptRecordings(): Promise<KeptRecording[]>;
  /** Marks recordings pruned and appends `session.recording-pruned` for each (actor = hub); returns how many were marked. */
  markRecordingsPruned(pruned: Array<{ id: string; reason: string }>, atMs: number): Promise<number>;
  /** The event log, newest first (ListAudit). */
  auditEntries(query: AuditQuery): Promise<HubEvent[]>;

  close(): Promise<void>;
}
