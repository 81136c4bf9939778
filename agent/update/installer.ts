import type { Readable } from 'node:stream';
import type { Manifest, PayloadInfo } from '../../artifact';

// The contract between the update state machine (update-engine) and the code
// that knows one payload type: rootfs-image (A/B slots), app (releases +
// `current` link) and module:<name> (an executable driven per state, like
// Mender's update modules). The engine persists its state before calling any
// method, and after a power cut it calls the method of the state it was in
// again: every method must be idempotent and must cope with a half-done
// earlier attempt (a half-written slot, a half-extracted release, a module
// interrupted mid-step).

export interface InstallContext {
  /** This deployment's folder for this payload; it survives restarts and reboots. */
  workDir: string;
  manifest: Manifest;
  payload: PayloadInfo;
  /** A line for the deployment log the hub keeps (and the agent's own log). */
  log(line: string): void;
  /** Aborted when the agent stops; long steps should give up promptly. */
  signal: AbortSignal;
}

export interface PayloadInstaller {
  /**
   * Takes the payload's verified bytes while the artifact is read from disk
   * and puts them where install() will activate them, without activating
   * anything: the inactive slot, releases/<version>.partial, the module's
   * work folder. The stream errors if the payload's size or hash does not
   * match; then nothing may have changed what runs. Called again from scratch
   * after a power cut in the middle.
   */
  store(ctx: InstallContext, bytes: Readable): Promise<void>;
  /** Activates what store() put in place (switch the link, prepareSwitch the bootloader, ArtifactInstall). */
  install(ctx: InstallContext): Promise<void>;
  /** Whether the device must reboot for install() to take effect. */
  needsReboot(ctx: InstallContext): Promise<boolean>;
  /** Makes the installed payload permanent (bootloader commit, ArtifactCommit). Old releases may be pruned, keeping the previous one. */
  commit(ctx: InstallContext): Promise<void>;
  /** Whether rollback() can bring the previous version back. */
  supportsRollback(ctx: InstallContext): Promise<boolean>;
  /** Puts the previous version back in place (after install, before commit). Safe when install never ran. */
  rollback(ctx: InstallContext): Promise<void>;
  /** Removes temporary files (partial releases, module work files) after success or failure. */
  cleanup(ctx: InstallContext): Promise<void>;
}

/** Installers by payload type; module:<name> installers are looked up by the full type. */
export type InstallerRegistry = (payloadType: string) => PayloadInstaller | undefined;
