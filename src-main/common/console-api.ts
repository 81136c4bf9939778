// The one typed API the renderer uses (`window.fleet`). Pure types plus the
// list of method names; no Node or DOM code, so every room may import it.
// Carried by Electron IPC (src-preload) and by the WebSocket bridge
// (src-main/bridge) with the same generic code (see api-dispatch.ts).

export type AdmissionStatus = 'pending' | 'accepted' | 'rejected';
export type Role = 'viewer' | 'operator' | 'admin';

/** A device as the console's local cache holds it. */
export interface DeviceRow {
  id: string;
  status: AdmissionStatus;
  online: boolean;
  deviceType: string;
  /** inventory os.pretty_name, or '' */
  os: string;
  lastSeenMs: number;
  createdMs: number;
  revision: number;
}

export interface DeviceDetail extends DeviceRow {
  identity: Record<string, string>;
  inventory: Record<string, string>;
  /** hex of the raw ed25519 key */
  publicKey: string;
}

export type DeviceSortKey = 'id' | 'status' | 'online' | 'deviceType' | 'os' | 'lastSeenMs';

export interface DeviceQuery {
  /** case-insensitive substring of id, device type, OS or any identity/inventory value */
  text?: string;
  status?: AdmissionStatus;
  sort?: DeviceSortKey;
  descending?: boolean;
  offset?: number;
  limit?: number;
}

export interface DevicePage {
  total: number;
  offset: number;
  rows: DeviceRow[];
  /** counts over the whole cache, for the filter chips */
  counts: Record<AdmissionStatus, number>;
}

export interface BulkResult {
  changed: string[];
  notFound: string[];
}

export type ConnectionPhase =
  | 'disconnected' // no hub configured
  | 'connecting' // dialing / retrying; `error` says why the last try failed
  | 'online' // Watch stream is live
  | 'offline'; // hub unreachable: the cache is shown as offline data

export interface ConnectionState {
  phase: ConnectionPhase;
  hub: string;
  /** SHA-256 fingerprint (colon hex) of the trusted hub certificate */
  fingerprint: string;
  operator: string;
  role: Role | '';
  hubId: string;
  /** last hub revision applied to the cache */
  revision: number;
  /** set while phase is connecting/offline after a failure */
  error: string;
  /** ms epoch of the last moment the cache was known in sync */
  syncedAtMs: number;
  /** true when the hub runs inside this console (embedded demo fleet) */
  embedded: boolean;
}

/** What a hub presents before we trust it (trust on first use). */
export interface HubProbe {
  hub: string;
  fingerprint: string;
  subject: string;
  /** true when this fingerprint is already trusted for this hub */
  trusted: boolean;
}

export interface ConnectParams {
  hub: string;
  token: string;
  /** the fingerprint the operator saw and accepted in the connection panel */
  fingerprint: string;
}

export type SignatureStatus = 'trusted' | 'untrusted-key' | 'unsigned';

/** An artifact stored on the hub, as ListArtifacts returns it. */
export interface ArtifactRow {
  /** sha256 (hex) of the whole file */
  id: string;
  name: string;
  version: string;
  group: string;
  deviceTypes: string[];
  /** bytes */
  size: number;
  signatureStatus: SignatureStatus;
  /** signing key id (hex), '' when unsigned */
  keyId: string;
  uploadedMs: number;
  uploadedBy: string;
  /** e.g. "rootfs-image (gzip)" */
  payloadSummary: string;
}

/** What the console services need to start an upload (the file itself follows in chunks). */
export interface UploadBeginParams {
  /** the file name on the operator's side, for messages only */
  fileName: string;
  /** bytes that will follow; the hub refuses more or fewer */
  size: number;
}

/** An upload the services opened to the hub; chunks are sent against its id. */
export interface UploadTicket {
  uploadId: string;
  /** raw bytes per chunk (before base64): every chunk but the last has exactly this size */
  chunkBytes: number;
  /** chunks the caller may have sent and not yet seen answered */
  maxInFlight: number;
}

export interface UploadProgress {
  /** bytes handed to the hub so far */
  bytesSent: number;
  size: number;
}

export interface UploadResult {
  artifact: ArtifactRow;
  /** the hub already held these exact bytes; nothing new was stored */
  deduplicated: boolean;
}

/** Per-device deployment statuses, exactly as the hub and agents use them. */
export const DEVICE_DEPLOYMENT_STATUSES = [
  'pending',
  'downloading',
  'paused-before-install',
  'installing',
  'paused-before-reboot',
  'rebooting',
  'verifying',
  'paused-before-commit',
  'committing',
  'success',
  'failure',
  'rolled-back',
  'already-installed',
  'incompatible',
  'aborted',
] as const;
export type DeviceDeploymentStatus = (typeof DEVICE_DEPLOYMENT_STATUSES)[number];
/** Statuses a device never leaves. */
export const FINAL_DEVICE_STATUSES: readonly DeviceDeploymentStatus[] = ['success', 'failure', 'rolled-back', 'already-installed', 'incompatible', 'aborted'];

/** `halted`: a failure threshold was exceeded or an operator paused it; no new device starts until resumed. */
export type DeploymentStatus = 'active' | 'halted' | 'finished' | 'aborted';

/** The stages a device can be held before (docs/rollouts.md), in their order. */
export const PAUSE_STAGES = ['install', 'reboot', 'commit'] as const;
export type PauseStage = (typeof PAUSE_STAGES)[number];

/** Halts the deployment when failed devices exceed `count`, or `percent` % of the devices concerned. 0/0: no threshold. */
export interface FailureThreshold {
  count: number;
  percent: number;
}

/** A recurring window: opens at every minute the 5-field cron matches in `timeZone` ('' = UTC) and lasts `durationMs`. */
export interface MaintenanceWindow {
  cron: string;
  durationMs: number;
  timeZone: string;
}

/** One phase: its size is `percent` (1-100) or `count` of the target devices, not cumulative; the last takes the rest. */
export interface PhaseSpec {
  percent: number;
  count: number;
  /** epoch ms it starts at; 0: not timed */
  startMs: number;
  /** waits for a Continue with its number instead of starting after the previous phase succeeded */
  manual: boolean;
  /** share of this phase's devices that must succeed before the next starts automatically; 0 = 100 */
  successPercent: number;
  maxFailures: FailureThreshold;
}

/** How a deployment rolls out; every field may be left out (one phase, started at once, no pause). */
export interface RolloutOptions {
  phases?: Partial<PhaseSpec>[];
  pauseBefore?: PauseStage[];
  window?: MaintenanceWindow;
  /** over the whole deployment */
  maxFailures?: Partial<FailureThreshold>;
  /** times a failed device is offered the deployment again */
  retries?: number;
  /** target this dynamic group (instead of devices or a static group), including devices that match later */
  dynamicGroup?: string;
  /** cap on the dynamic group's targets; 0: none */
  maxDevices?: number;
}

export interface PhaseState {
  /** 1-based */
  number: number;
  spec: PhaseSpec;
  status: 'waiting' | 'started';
  startedMs: number;
  total: number;
  counts: Partial<Record<DeviceDeploymentStatus, number>>;
}

/** The rollout as the hub runs it: options normalized, phases, maintenance window now. */
export interface RolloutState {
  phases: PhaseState[];
  pauseBefore: PauseStage[];
  window: MaintenanceWindow | null;
  maxFailures: FailureThreshold;
  retries: number;
  dynamicGroup: string;
  maxDevices: number;
  windowOpen: boolean;
  /** 0 when closed */
  windowEndsMs: number;
  /** 0 without a window */
  nextWindowMs: number;
}

/** One deployment-level event: created, phase-started, continued, paused, halted, resumed, aborted, finished, device-joined, device-left. */
export interface DeploymentHistoryEntry {
  atMs: number;
  /** operator name, or `hub` */
  actor: string;
  action: string;
  details: Record<string, string>;
}

/** What a Continue releases: one phase, some devices, or (neither) every started phase; `stage` defaults to each one's next pause. */
export interface ContinueTarget {
  phase?: number;
  deviceIds?: string[];
  stage?: PauseStage;
}

export interface DeploymentRow {
  id: string;
  name: string;
  artifactId: string;
  artifactName: string;
  artifactVersion: string;
  status: DeploymentStatus;
  createdMs: number;
  createdBy: string;
  /** 0 while active */
  finishedMs: number;
  /** devices per status; statuses with no device may be missing */
  counts: Partial<Record<DeviceDeploymentStatus, number>>;
  total: number;
  allowDowngrade: boolean;
  force: boolean;
  /** who aborted it, '' unless aborted */
  abortedBy: string;
  /** why it is halted, '' unless halted */
  haltReason: string;
  /** null for a hub that predates rollouts */
  rollout: RolloutState | null;
}

/** One device's part in one deployment (also a line of its update history). */
export interface DeploymentDeviceRow {
  deploymentId: string;
  deviceId: string;
  status: DeviceDeploymentStatus;
  bytesDone: number;
  bytesTotal: number;
  /** why it failed, was skipped or rolled back; '' otherwise */
  reason: string;
  startedMs: number;
  updatedMs: number;
  /** 0 until the status is final */
  finishedMs: number;
  artifactName: string;
  artifactVersion: string;
  deploymentName: string;
  /** 1-based phase; 0 when the hub does not say */
  phase: number;
  /** 1 + retries so far; 0 when the hub does not say */
  attempt: number;
}

export interface DeploymentDetail {
  deployment: DeploymentRow;
  devices: DeploymentDeviceRow[];
  /** oldest first */
  history: DeploymentHistoryEntry[];
}

export interface CreateDeploymentParams {
  /** default "<artifact name> <version>" */
  name?: string;
  /** the artifact's id (sha256 hex) */
  artifactId: string;
  /** explicit targets; or `group`, or `rollout.dynamicGroup` (exactly one of the three) */
  deviceIds?: string[];
  /** every member of this static group at creation time */
  group?: string;
  allowDowngrade?: boolean;
  /** install even where the same name and version is already installed */
  force?: boolean;
  rollout?: RolloutOptions;
}

export interface DeploymentListQuery {
  status?: DeploymentStatus;
  /** default: the hub's (newest first) */
  limit?: number;
}

/** A static group: a named set of devices, a deployment target. */
export interface GroupRow {
  name: string;
  deviceIds: string[];
}

export const CONDITION_OPS = ['eq', 'ne', 'in', 'not-in', 'lt', 'le', 'gt', 'ge', 'exists', 'not-exists', 'regex'] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

/** One condition on `id`, an identity attribute or else an inventory attribute. */
export interface AttributeCondition {
  attribute: string;
  op: ConditionOp;
  /** for every op but in, not-in, exists, not-exists */
  value?: string;
  /** for in and not-in */
  values?: string[];
}

/** Accepted devices for which every condition holds (a dynamic group's filter). */
export interface AttributeQuery {
  conditions: AttributeCondition[];
}

export interface DynamicGroupRow {
  name: string;
  query: AttributeQuery;
  createdBy: string;
  createdMs: number;
  /** accepted devices matching now */
  matching: number;
  window: MaintenanceWindow | null;
}

export interface DynamicGroupDetail {
  group: DynamicGroupRow;
  /** matching devices, by id */
  deviceIds: string[];
}

export interface QueryPreview {
  matching: number;
  /** up to 20 matching ids */
  sample: string[];
}

/** A maintenance window set on a static or dynamic group: deployments created to the group without a window of their own take it. */
export interface GroupWindowRow {
  group: string;
  dynamic: boolean;
  window: MaintenanceWindow;
  setBy: string;
  setMs: number;
}

export interface GroupChange {
  add?: string[];
  remove?: string[];
}

/** How a remote session reaches the device: relayed by the hub, or straight over SSH (direct mode). */
export type RemoteVia = 'hub' | 'direct';

export interface RemoteTarget {
  deviceId: string;
  via: RemoteVia;
}

export interface RemoteShellInfo {
  shellId: string;
  deviceId: string;
  via: RemoteVia;
  /** the hub's session id ('' in direct mode) */
  sessionId: string;
  /** the hub records this shell (asciicast v2) */
  recorded: boolean;
  /** who opened it: the hub operator, or user@host in direct mode */
  operator: string;
  startedMs: number;
}

export interface RemoteEntry {
  name: string;
  /** absolute path on the device */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: number;
  mtimeMs: number;
}

export interface RemoteListing {
  /** the folder's real path */
  path: string;
  entries: RemoteEntry[];
  /** pass back to list the next page; absent on the last page */
  nextCursor?: string;
}

/** A remote failure as it crosses the API: `code` is the device's or hub's refusal code (outside-roots, forbidden, ...). */
export interface RemoteErrorInfo {
  code: string;
  message: string;
}

export interface RemoteUploadBegin {
  target: RemoteTarget;
  /** absolute path on the device */
  path: string;
  size: number;
  /** permission bits the file gets unless the device forces its own */
  mode?: number;
  /** the same id resumes an upload that was cut (letters, digits, - and _) */
  transferId?: string;
}

export interface RemoteUploadTicket {
  uploadId: string;
  /** the device already holds this many bytes of an earlier, cut attempt: chunks before it are hashed, not sent */
  offset: number;
  chunkBytes: number;
  maxInFlight: number;
}

export interface RemoteTransferProgress {
  bytes: number;
  total: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

export interface RemoteTransferResult {
  /** the file on the device (upload) or on this computer (download) */
  path: string;
  size: number;
  /** sha256 (hex), equal on both ends */
  sha256: string;
}

export interface RemoteTunnelSpec {
  /** 127.0.0.1 port to listen on; 0 or absent = any free port */
  localPort?: number;
  /** host and port as the device sees them */
  host: string;
  port: number;
}

export interface RemoteTunnelInfo {
  tunnelId: string;
  deviceId: string;
  via: RemoteVia;
  localPort: number;
  host: string;
  port: number;
  /** connections open now, accepted so far, and failed so far */
  active: number;
  accepted: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
}

export interface RemoteSessionRow {
  id: string;
  deviceId: string;
  operator: string;
  kind: string;
  detail: string;
  startedMs: number;
  /** 0 while open */
  endedMs: number;
  endReason: string;
  bytesToDevice: number;
  bytesFromDevice: number;
  /** shells: bytes recorded (0 when none), and whether the size cap cut it */
  recordingBytes: number;
  recordingTruncated: boolean;
}

export interface RemoteSessionQuery {
  deviceId?: string;
  kind?: string;
  openOnly?: boolean;
  limit?: number;
}

/** Direct-mode (SSH) settings of a device as the console stores them; the secret is never read back. */
export interface DirectSettings {
  host: string;
  port: number;
  username: string;
  /** key: a private key file on this computer; password: kept in memory only */
  auth: { kind: 'key'; keyFile: string; passphrase?: string } | { kind: 'password'; password: string };
}

/** A changed SSH host key: the trusted one and the one the device presents now. */
export interface HostKeyProblem {
  deviceId: string;
  host: string;
  port: number;
  known: { algorithm: string; fingerprint: string };
  presented: { algorithm: string; fingerprint: string };
}

export interface DirectSettingsView {
  host: string;
  port: number;
  username: string;
  authKind: 'key' | 'password';
  keyFile: string;
}

export interface ConsoleApi {
  connection: {
    state(): Promise<ConnectionState>;
    /** Opens TLS to the hub and returns its certificate fingerprint, trusting nothing. */
    probe(hub: string): Promise<HubProbe>;
    /** Trusts `fingerprint` for `hub`, checks the token, saves the context and starts syncing. */
    connect(params: ConnectParams): Promise<ConnectionState>;
    disconnect(): Promise<ConnectionState>;
  };
  devices: {
    /** Reads the local cache: works offline. */
    query(query: DeviceQuery): Promise<DevicePage>;
    get(id: string): Promise<DeviceDetail | null>;
    accept(ids: string[]): Promise<BulkResult>;
    reject(ids: string[]): Promise<BulkResult>;
    /** Accepts every pending device matching the query's text filter. */
    acceptAllMatching(query: Pick<DeviceQuery, 'text'>): Promise<BulkResult>;
  };
  artifacts: {
    /** Asks the live hub, newest upload first; fails clearly when offline. */
    list(): Promise<ArtifactRow[]>;
    /** Opens a streamed upload to the live hub. */
    uploadBegin(params: UploadBeginParams): Promise<UploadTicket>;
    /**
     * One chunk: `data` is the base64 of the raw bytes starting at `offset`
     * (binary-safe over IPC and JSON alike). Chunks may arrive out of order
     * within the ticket's window; the answer comes once the chunk is on its
     * way to the hub, which is the caller's backpressure.
     */
    uploadChunk(uploadId: string, offset: number, data: string): Promise<UploadProgress>;
    /** After the last chunk: waits for the hub's verdict (verified and stored, or refused and why). */
    uploadFinish(uploadId: string): Promise<UploadResult>;
    /** Stops an upload; the hub keeps nothing. Unknown ids are ignored. */
    uploadCancel(uploadId: string): Promise<void>;
  };
  deployments: {
    create(params: CreateDeploymentParams): Promise<DeploymentRow>;
    /** Newest first. */
    list(query?: DeploymentListQuery): Promise<DeploymentRow[]>;
    /** The deployment with every target device's status and progress. */
    get(id: string): Promise<DeploymentDetail>;
    /** Pending devices stop at once; devices in progress roll back unless they already committed. */
    abort(id: string): Promise<DeploymentRow>;
    /** Releases pauses (or starts the next phase): see ContinueTarget. Refused while halted. */
    continue(id: string, target?: ContinueTarget): Promise<DeploymentRow>;
    /** Halts it: no new device starts and no pause is released until resumed. */
    pause(id: string, reason?: string): Promise<DeploymentRow>;
    resume(id: string): Promise<DeploymentRow>;
    /** When a maintenance window opens next after now (worked out locally with the hub's cron rules); `error` says what is wrong with it. */
    nextWindow(window: MaintenanceWindow): Promise<{ nextMs: number; error: string }>;
    /** One device's update history, newest first. */
    deviceHistory(deviceId: string): Promise<DeploymentDeviceRow[]>;
    /** The log lines a device sent for one deployment. */
    deviceLog(deploymentId: string, deviceId: string): Promise<string[]>;
  };
  groups: {
    /** Every static group on the hub, by name. */
    list(): Promise<GroupRow[]>;
    /** Adds and removes members (a group exists while it has members); returns the group after the change. */
    setMembers(name: string, change: GroupChange): Promise<GroupRow>;
    /** Dynamic groups (saved filters), by name. */
    listDynamic(): Promise<DynamicGroupRow[]>;
    getDynamic(name: string): Promise<DynamicGroupDetail>;
    /** Saves a filter under a name; an existing name is refused unless `replace`. */
    createDynamic(name: string, query: AttributeQuery, replace?: boolean): Promise<DynamicGroupRow>;
    deleteDynamic(name: string): Promise<DynamicGroupRow>;
    /** How many accepted devices match now, and a few of them: the wizard's live count. */
    preview(query: AttributeQuery): Promise<QueryPreview>;
    /** Sets (or with null removes) a group's maintenance window; the group must exist. Returns the group's windows after the change. */
    setWindow(group: string, dynamic: boolean, window: MaintenanceWindow | null): Promise<GroupWindowRow[]>;
    /** Every group window, static and dynamic groups. */
    windows(): Promise<GroupWindowRow[]>;
  };
  remote: {
    /** Opens a shell (pty) on the device; output arrives as remote-shell-output events, which the renderer must acknowledge with shellAck. */
    openShell(target: RemoteTarget, size: { cols: number; rows: number }): Promise<RemoteShellInfo>;
    shellInput(shellId: string, data: string): Promise<void>;
    /** The renderer has written `bytes` of output to the terminal: lets the device send more. */
    shellAck(shellId: string, bytes: number): Promise<void>;
    shellResize(shellId: string, cols: number, rows: number): Promise<void>;
    /** Ends the shell; unknown ids are ignored. */
    closeShell(shellId: string): Promise<void>;
    /** One page of a folder on the device. */
    list(target: RemoteTarget, path: string, cursor?: string): Promise<RemoteListing>;
    /**
     * Makes a folder and its missing parents on the device, like mkdir -p (an existing folder is fine);
     * `mode` is the new folder's permission bits (default 0755 less the device's umask). Answers the folder as a listing shows it.
     */
    mkdir(target: RemoteTarget, path: string, mode?: number): Promise<RemoteEntry>;
    /** Folders the device allows (hub: its remote.files.roots as reported; direct: the login's home). */
    roots(target: RemoteTarget): Promise<string[]>;
    /** Opens an upload of bytes the renderer holds (a dropped file); chunks follow. */
    uploadBegin(params: RemoteUploadBegin): Promise<RemoteUploadTicket>;
    /** `data` is the base64 of the bytes at `offset`; chunks must come in order. Answers once they are on their way. */
    uploadChunk(uploadId: string, offset: number, data: string): Promise<RemoteTransferProgress>;
    /** After the last chunk: the device's verdict (sha256 equal, renamed into place). */
    uploadFinish(uploadId: string): Promise<RemoteTransferResult>;
    uploadCancel(uploadId: string): Promise<void>;
    /** Uploads a file of this computer; progress and the end arrive as remote-transfer events. */
    uploadFile(target: RemoteTarget, localPath: string, remotePath: string): Promise<{ transferId: string }>;
    /** Downloads to `localPath` (a temporary name, checked, then renamed); remote-transfer events. */
    download(target: RemoteTarget, remotePath: string, localPath: string): Promise<{ transferId: string }>;
    cancelTransfer(transferId: string): Promise<void>;
    /** Where downloads go unless the operator picks another folder. */
    downloadsDir(): Promise<string>;
    /**
     * The start of this run's drag-out links (http on 127.0.0.1 with a per-run key). The file
     * browser appends `?via=&device=&path=` and puts the link in a drag's DownloadURL: a drop on
     * the desktop fetches it, and the console answers with the file once its download is verified
     * (the same download as a click, announced by a remote-transfer-start event).
     */
    dragOutBase(): Promise<string>;
    openTunnel(target: RemoteTarget, spec: RemoteTunnelSpec): Promise<RemoteTunnelInfo>;
    listTunnels(): Promise<RemoteTunnelInfo[]>;
    closeTunnel(tunnelId: string): Promise<void>;
    /** The hub's remote sessions, newest first. */
    sessions(query?: RemoteSessionQuery): Promise<RemoteSessionRow[]>;
    closeSession(sessionId: string): Promise<RemoteSessionRow>;
    /** A shell session's recording: the asciicast v2 text. */
    recording(sessionId: string): Promise<string>;
    getDirect(deviceId: string): Promise<DirectSettingsView | null>;
    /** Saves (or with null forgets) a device's direct-mode settings. */
    setDirect(deviceId: string, settings: DirectSettings | null): Promise<DirectSettingsView | null>;
    /** The device's last refused host key, if its key changed since it was trusted. */
    hostKeyProblem(deviceId: string): Promise<HostKeyProblem | null>;
    /** Trusts the new host key the operator was shown (`fingerprint` must be exactly the one presented). */
    trustHostKey(deviceId: string, fingerprint: string): Promise<void>;
  };
}

/** Pushed from the console services to every renderer. */
export type ConsoleEvent =
  | { type: 'connection'; state: ConnectionState }
  /** The cache changed; re-query what is on screen. `ids` empty = anything may have changed. */
  | { type: 'devices-changed'; revision: number; ids: string[] }
  /** Shell output, base64; acknowledge what was written with remote.shellAck. */
  | { type: 'remote-shell-output'; shellId: string; data: string }
  | { type: 'remote-shell-exit'; shellId: string; code: number | null; signal: string; reason: string }
  /** A transfer the renderer did not start: a file dragged out to the desktop. */
  | { type: 'remote-transfer-start'; transferId: string; origin: 'drag-out'; deviceId: string; remotePath: string }
  | { type: 'remote-transfer-progress'; transferId: string; progress: RemoteTransferProgress }
  | { type: 'remote-transfer-end'; transferId: string; result?: RemoteTransferResult; error?: RemoteErrorInfo }
  | { type: 'remote-tunnel'; tunnel: RemoteTunnelInfo }
  | { type: 'remote-tunnel-error'; tunnelId: string; error: RemoteErrorInfo }
  | { type: 'remote-tunnel-closed'; tunnelId: string; reason: string }
  /** Direct mode refused a device whose SSH host key is not the one trusted; remote.trustHostKey accepts exactly `presented`. */
  | { type: 'remote-host-key-changed'; problem: HostKeyProblem };

/** Every callable method, "namespace.method". The dispatcher refuses anything else. */
export const CONSOLE_API_METHODS = [
  'connection.state',
  'connection.probe',
  'connection.connect',
  'connection.disconnect',
  'devices.query',
  'devices.get',
  'devices.accept',
  'devices.reject',
  'devices.acceptAllMatching',
  'artifacts.list',
  'artifacts.uploadBegin',
  'artifacts.uploadChunk',
  'artifacts.uploadFinish',
  'artifacts.uploadCancel',
  'deployments.create',
  'deployments.list',
  'deployments.get',
  'deployments.abort',
  'deployments.continue',
  'deployments.pause',
  'deployments.resume',
  'deployments.nextWindow',
  'deployments.deviceHistory',
  'deployments.deviceLog',
  'groups.list',
  'groups.setMembers',
  'groups.listDynamic',
  'groups.getDynamic',
  'groups.createDynamic',
  'groups.deleteDynamic',
  'groups.preview',
  'groups.setWindow',
  'groups.windows',
  'remote.openShell',
  'remote.shellInput',
  'remote.shellAck',
  'remote.shellResize',
  'remote.closeShell',
  'remote.list',
  'remote.roots',
  'remote.mkdir',
  'remote.uploadBegin',
  'remote.uploadChunk',
  'remote.uploadFinish',
  'remote.uploadCancel',
  'remote.uploadFile',
  'remote.download',
  'remote.cancelTransfer',
  'remote.downloadsDir',
  'remote.dragOutBase',
  'remote.openTunnel',
  'remote.listTunnels',
  'remote.closeTunnel',
  'remote.sessions',
  'remote.closeSession',
  'remote.recording',
  'remote.getDirect',
  'remote.setDirect',
  'remote.hostKeyProblem',
  'remote.trustHostKey',
] as const;

export type ConsoleApiMethod = (typeof CONSOLE_API_METHODS)[number];

/** The transport-neutral shape: what preload and the bridge client both carry. */
export interface ApiTransport {
  invoke(method: ConsoleApiMethod, args: unknown[]): Promise<unknown>;
  /** Returns an unsubscribe function. */
  onEvent(listener: (event: ConsoleEvent) => void): () => void;
}

/** `window.fleet`: the API plus its event subscription. */
export type FleetWindowApi = ConsoleApi & { onEvent: ApiTransport['onEvent'] };
