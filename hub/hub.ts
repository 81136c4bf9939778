import * as grpc from '@grpc/grpc-js';
import pkg from '../package.json' with { type: 'json' };
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { ConsoleServiceService } from '../proto/gen/fleet/v1/console';
import { artifactPaths, prepareArtifactDirs } from './artifacts/artifact-paths';
import { loadTrustedKeys } from './artifacts/trusted-keys';
import { ensureAdminToken } from './auth/admin-token';
import { createConsoleService } from './console/console-service';
import { DEFAULT_WATCH_LIMITS, type WatchCall } from './console/watch-stream';
import { prepareDataDir } from './data-dir';
import { DeploymentDispatcher, REPORT_FLUSH_MS } from './deployments/deployment-dispatcher';
import { AdmissionWaiters } from './device/admission-waiters';
import { createArtifactStreamHandler } from './device/artifact-stream';
import { HUB_DEVICE_SERVICE } from './device/download-chunk';
import { createDeviceService } from './device/device-service';
import { DeviceSessions } from './device/device-sessions';
import { DEFAULT_PENDING_POLLS_PER_SECOND, EnrollPacing } from './device/enroll-pacing';
import { InventoryWriter } from './device/inventory-writer';
import { PresenceWriter } from './device/presence-writer';
import { formatHostPort, parseListen } from './listen-address';
import { systemClock, type Clock } from './rollouts/clock';
import { DynamicTargets } from './rollouts/dynamic-targets';
import { ROLLOUT_TICK_MS, RolloutScheduler } from './rollouts/rollout-scheduler';
import { DEFAULT_OPEN_TIMEOUT_MS, DEFAULT_RECORDING_MAX_BYTES, DEFAULT_RECORDING_QUEUE_BYTES, RemoteHub } from './remote/remote-hub';
import { channelStreamMethods, HUB_CONSOLE_CHANNEL_METHOD, HUB_DEVICE_CHANNEL_METHOD } from './remote/channel-wire';
import { serveStreamSocket } from '../proto/stream-server-call';
import { DEFAULT_RECORDING_MAX_AGE_MS, DEFAULT_RECORDING_MAX_TOTAL_BYTES, RecordingRetention } from './remote/recording-retention';
import { openSqliteStore } from './store/sqlite-store';
import type { HubStore } from './store/store';
import { loadOrCreateHubCertificate } from './tls/hub-certificate';
import { listenShared, type SharedPort, type SharedPortOptions } from '../proto/shared-port';

export interface HubOptions {
  dataDir: string;
  /** HOST:PORT; port 0 picks any free port. */
  listen: string;
  /** Device token life, default 1 h. */
  tokenTtlMs?: number;
  /** Shortest retry_after_ms told to pending devices, default 5000. */
  enrollRetryMs?: number;
  /** Polls per second all pending devices together are paced to (retry_after_ms grows with their number), default 200. */
  pendingPollsPerSecond?: number;
  /** Told to devices in Hello, default 30000. */
  heartbeatIntervalMs?: number;
  log?: (line: string) => void;
  /** Live events a Watch caller may fall behind before it is cut off (RESOURCE_EXHAUSTED), default 20000. */
  watchMaxLag?: number;
  /** The time rollouts go by (maintenance windows, phase start times); tests inject one they move. */
  clock?: Clock;
  /** How often phase start times and maintenance windows are looked at, default 1000 ms. */
  rolloutTickMs?: number;
  /** Remote sessions: time from a console's start to the device's dial, default 10 s. */
  channelOpenTimeoutMs?: number;
  /** Size cap of one session recording (DATA/recordings/<session>.cast), default 32 MiB. */
  recordingMaxBytes?: number;
  /** Recording bytes that may wait for the disk per session before the recording stops (truncated), default 2 MiB. */
  recordingQueueBytes?: number;
  /** Recordings of sessions that ended longer ago are pruned (at start, then hourly), default 90 days; 0 = no age limit. */
  recordingMaxAgeMs?: number;
  /** Past this total the oldest recordings are pruned, default 2 GiB; 0 = no size limit. */
  recordingMaxTotalBytes?: number;
}

export interface RunningHub {
  /** Actual HOST:PORT. */
  address: string;
  fingerprint: string;
  certPem: string;
  certPath: string;
  adminToken: string;
  adminTokenPath: string;
  hubId: string;
  /** The hub's storage, for in-process tools and tests (e.g. creating operators). */
  store: HubStore;
  /** Number of open device control streams. */
  connectedDevices(): number;
  /** Number of remote sessions being relayed. */
  openSessions(): number;
  close(): Promise<void>;
}

export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** How often presence (online/offline/last seen) and inventory reports are written. */
const PRESENCE_FLUSH_MS = 100;

const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  // Devices heartbeat on their own; server pings only find dead TCP
  // connections, so they can be rare even with 10,000 connections.
  'grpc.keepalive_time_ms': 120_000,
  'grpc.keepalive_timeout_ms': 20_000,
  // A device needs one or two streams; this keeps one client from opening thousands.
  'grpc.max_concurrent_streams': 256,
  // Channelz keeps per-connection bookkeeping nobody reads here; at 10,000
  // device connections that is memory for nothing.
  'grpc.enable_channelz': 0,
};

// A static JSON import, so the bundle (npm run build:bins) carries the version.
export const HUB_VERSION: string = pkg.version;

export async function startHub(opts: HubOptions): Promise<RunningHub> {
  const log = opts.log ?? (() => {});
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 30_000;
  const { host, port } = parseListen(opts.listen);
  const paths = prepareDataDir(resolve(opts.dataDir));
  let store: HubStore;
  try {
    store = openSqliteStore(paths.db);
  } catch (err) {
    throw new Error(`cannot open the hub database ${paths.db}: ${(err as Error).message}`);
  }

  try {
    const cert = await loadOrCreateHubCertificate(paths, store.hubId, log);
    const adminToken = await ensureAdminToken(paths, store, log);
    // A previous run that died (kill -9) left its devices marked online.
    const stale = await store.markAllOffline('hub');
    if (stale) log(`marked ${stale} devices offline that a previous run left online`);
    const artifacts = artifactPaths(paths.dir);
    const leftovers = prepareArtifactDirs(artifacts);
    if (leftovers) log(`deleted ${leftovers} unfinished artifact uploads left in ${artifacts.tmp}`);
    const trusted = loadTrustedKeys(artifacts.trustedKeys);
    for (const problem of trusted.problems) log(`trusted key skipped: ${problem}`);
    log(`trusting ${trusted.keys.length} artifact signing key${trusted.keys.length === 1 ? '' : 's'} (${artifacts.trustedKeys}/*.pub)`);

    const presence = new PresenceWriter(store, PRESENCE_FLUSH_MS, log);
    const inventory = new InventoryWriter(store, PRESENCE_FLUSH_MS, log);
    const sessions = new DeviceSessions(presence, heartbeatIntervalMs);
    const waiters = new AdmissionWaiters();
    const clock = opts.clock ?? systemClock;
    const deployments = new DeploymentDispatcher(store, sessions, log, REPORT_FLUSH_MS, clock);
    const scheduler = new RolloutScheduler(store, deployments, clock, log, opts.rolloutTickMs ?? ROLLOUT_TICK_MS);
    const dynamicTargets = new DynamicTargets(store, deployments, log);
    const orphans = await store.endOrphanSessions('the hub stopped while the session was open');
    if (orphans) log(`closed ${orphans} remote sessions a previous run left open`);
    const remote = new RemoteHub(
      store,
      sessions,
      {
        openTimeoutMs: opts.channelOpenTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS,
        recordingsDir: join(paths.dir, 'recordings'),
        recordingMaxBytes: opts.recordingMaxBytes ?? DEFAULT_RECORDING_MAX_BYTES,
        recordingQueueBytes: opts.recordingQueueBytes ?? DEFAULT_RECORDING_QUEUE_BYTES,
      },
      log,
    );
    const retention = new RecordingRetention(
      store,
      remote.options.recordingsDir,
      { maxAgeMs: opts.recordingMaxAgeMs ?? DEFAULT_RECORDING_MAX_AGE_MS, maxTotalBytes: opts.recordingMaxTotalBytes ?? DEFAULT_RECORDING_MAX_TOTAL_BYTES },
      log,
    );
    sessions.onOffline((deviceId) => remote.deviceOffline(deviceId));
    const unsubscribe = store.subscribe((events) => {
      sessions.onEvents(events);
      remote.onEvents(events);
      waiters.onEvents(events);
      dynamicTargets.onEvents(events);
    });
    const watchers = new Set<WatchCall>();

    const server = new grpc.Server(SERVER_OPTIONS);
    const deviceService = createDeviceService({
        store,
        sessions,
        presence,
        inventory,
        tokenTtlMs: opts.tokenTtlMs ?? 60 * 60_000,
        pacing: new EnrollPacing(store, opts.enrollRetryMs ?? 5000, opts.pendingPollsPerSecond ?? DEFAULT_PENDING_POLLS_PER_SECOND),
        waiters,
        heartbeatIntervalMs,
        deployments,
        artifactPaths: artifacts,
        remote,
        log,
      });
    server.addService({ ...HUB_DEVICE_SERVICE, channel: HUB_DEVICE_CHANNEL_METHOD }, deviceService);
    const consoleService = createConsoleService({
        store,
        hubVersion: HUB_VERSION,
        watchers,
        artifactPaths: artifacts,
        deployments,
        clock,
        watchLimits: { ...DEFAULT_WATCH_LIMITS, maxLag: opts.watchMaxLag ?? DEFAULT_WATCH_LIMITS.maxLag },
        remote,
        log,
      });
    server.addService({ ...ConsoleServiceService, channel: HUB_CONSOLE_CHANNEL_METHOD }, consoleService);
    const streams = channelStreamMethods(deviceService.channel, consoleService.channel);
    const listener = await listen({
      host,
      port,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      grpcServer: server,
      artifacts: createArtifactStreamHandler(store, artifacts, log),
      streams: (socket) => serveStreamSocket(socket, streams),
    });
    const boundPort = listener.port;
    presence.start();
    inventory.start();
    deployments.start();
    scheduler.start();
    sessions.startSweeper();
    void retention.start();
    const address = formatHostPort(host, boundPort);
    log(`hub ${store.hubId} listening on ${address}`);

    let closing: Promise<void> | undefined;
    return {
      address,
      fingerprint: cert.fingerprint,
      certPem: cert.certPem,
      certPath: paths.cert,
      adminToken,
      adminTokenPath: paths.adminToken,
      hubId: store.hubId,
      store,
      connectedDevices: () => sessions.size,
      openSessions: () => remote.openSessions,
      close() {
        closing ??= (async () => {
          await remote.closeAll('the hub is shutting down');
          await retention.stop();
          sessions.closeAll(grpc.status.UNAVAILABLE, 'hub is shutting down: reconnect later');
          waiters.wakeAll();
          for (const call of watchers) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'hub is shutting down: reconnect later' });
          // The TLS listener's close callback waits for every connection to
          // end: stop accepting now, end the calls, then cut what is left.
          const stopped = listener.stopListening();
          await shutdown(server, 2000);
          listener.destroy();
          await stopped;
          await presence.stop();
          await inventory.stop();
          await scheduler.stop();
          await dynamicTargets.idle();
          await deployments.stop();
          unsubscribe();
          await store.close();
          log('hub stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function listen(o: SharedPortOptions): Promise<SharedPort> {
  try {
    return await listenShared(o);
  } catch (err) {
    const reason = await explainListenFailure(o.host, o.port);
    throw new Error(`cannot listen on ${formatHostPort(o.host, o.port)}: ${reason ?? (err as Error).message}`);
  }
}

function explainListenFailure(host: string, port: number): Promise<string | undefined> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') done('the port is already in use (another hub running?): pick another with --listen');
      else if (e.code === 'EADDRNOTAVAIL') done('this machine has no such address: use 127.0.0.1 or 0.0.0.0');
      else if (e.code === 'EACCES') done('permission denied: ports below 1024 need privileges; use a higher port');
      else done(e.message);
    });
    probe.listen(port, host, () => probe.close(() => done(undefined)));
  });
}

/** Graceful shutdown, then forced after `graceMs`. */
function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      done();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      done();
    });
  });
}
