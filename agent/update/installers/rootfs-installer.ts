import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileAtomic } from '../../atomic-write';
import { type Bootloader, type Slot, isSlot, otherSlot } from '../../bootloader/bootloader';
import { crashAtBytes, crashPoint } from '../fault-injection';
import type { InstallContext, PayloadInstaller } from '../installer';

// rootfs-image: the A/B installer. store() writes the image into the slot
// that is NOT running (a block device, or a file standing for one in the
// simulator), fsyncs it and reads it back to check its sha256; install()
// only then points the bootloader at it (prepareSwitch, on trial); commit()
// makes it permanent, rollback() points back at the old slot. The canary
// proves the bootloader environment is writable before the slot is touched.

export interface RootfsInstallerOptions {
  bootloader: () => Promise<Bootloader>;
  /** Where each slot lives: a partition (/dev/mmcblk0p2) or, for simulated devices, a file. */
  slots: Record<Slot, string>;
}

const SLOT_FILE = 'slot';
const CHUNK = 1024 * 1024;

export function createRootfsInstaller(opts: RootfsInstallerOptions): PayloadInstaller {
  const targetOf = async (ctx: InstallContext): Promise<Slot> => {
    const text = (await readFile(join(ctx.workDir, SLOT_FILE), 'utf8').catch(() => '')).trim();
    if (!isSlot(text)) throw new Error(`rootfs: no slot recorded in ${ctx.workDir}; the image was not stored`);
    return text;
  };

  return {
    async store(ctx: InstallContext, bytes: Readable): Promise<void> {
      const bootloader = await opts.bootloader();
      const state = await bootloader.state();
      const target = otherSlot(state.active);
      const device = opts.slots[target];
      await bootloader.canary();
      ctx.log(`writing ${ctx.payload.name} (${ctx.payload.size} bytes) to slot ${target} (${device}); slot ${state.active} keeps running`);
      await writeSlot(device, bytes, ctx.payload.size, ctx.signal);
      const sha = await hashDevice(device, ctx.payload.size);
      if (sha !== ctx.payload.sha256) throw new Error(`rootfs: slot ${target} (${device}) reads back with sha256 ${sha}, not the image's ${ctx.payload.sha256}; the storage may be failing`);
      crashPoint('rootfs:stored');
      await writeFileAtomic(join(ctx.workDir, SLOT_FILE), target, 0o644);
      ctx.log(`slot ${target} holds the image (sha256 checked after fsync)`);
    },

    async install(ctx: InstallContext): Promise<void> {
      const target = await targetOf(ctx);
      const bootloader = await opts.bootloader();
      // Already running it: the switch happened and the device booted it.
      if ((await bootloader.state()).active === target) return;
      await bootloader.prepareSwitch(target);
      crashPoint('rootfs:switched');
      ctx.log(`bootloader: slot ${target} boots next, on trial`);
    },

    async needsReboot(): Promise<boolean> {
      return true;
    },

    async commit(ctx: InstallContext): Promise<void> {
      await (await opts.bootloader()).commit();
      crashPoint('rootfs:committed');
      ctx.log('bootloader: the running slot is committed');
    },

    async supportsRollback(): Promise<boolean> {
      return true;
    },

    async rollback(ctx: InstallContext): Promise<void> {
      await (await opts.bootloader()).rollback();
      crashPoint('rootfs:rolled-back');
      ctx.log('bootloader: back to the previous slot');
    },

    async cleanup(): Promise<void> {
      // The image stays in its slot: it is the fallback of the next update.
    },
  };
}

/** Capacity of a block device (from sysfs), or null for a regular file (grows as needed). */
async function capacity(device: string): Promise<number | null> {
  const s = await stat(device);
  if (!s.isBlockDevice()) return null;
  const major = Number((BigInt(s.rdev) >> 8n) & 0xfffn);
  const minor = Number((BigInt(s.rdev) & 0xffn) | ((BigInt(s.rdev) >> 12n) & 0xfff00n));
  const sectors = Number((await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8')).trim());
  return sectors * 512;
}

async function writeSlot(device: string, bytes: Readable, size: number, signal: AbortSignal): Promise<void> {
  const room = await capacity(device).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (room !== null && size > room) throw new Error(`rootfs: the image is ${size} bytes but slot ${device} holds only ${room}`);
  const fh = await open(device, constants.O_WRONLY | constants.O_CREAT, 0o644);
  try {
    let pos = 0;
    for await (const chunk of bytes) {
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      const data = chunk as Buffer;
      let done = 0;
      while (done < data.length) done += (await fh.write(data, done, data.length - done, pos + done)).bytesWritten;
      pos += data.length;
      crashAtBytes('store', pos);
    }
    if (room === null) await fh.truncate(size);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function hashDevice(device: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  if (size > 0) for await (const chunk of createReadStream(device, { start: 0, end: size - 1, highWaterMark: CHUNK })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
