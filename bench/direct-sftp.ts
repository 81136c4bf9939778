// Direct-mode file transfer (issue #5): SFTP fastPut/fastGet of one file
// through the console's uploadFile/downloadFile (ssh2, parallel requests) to
// and from a throw-away OpenSSH sshd on 127.0.0.1 — against `scp` of the same
// file to and from the same sshd, in the same run, on the same disk. Prints
// JSON.
//
//   npx tsx bench/direct-sftp.ts [SIZE_MIB]          (default 256)
//   BENCH_ROUNDS=N                                   (default 2)
//   BENCH_TUNE=1   also sweep concurrency x chunk size (raw fastPut, no verify)
//
// "upload" is what the console does: transfer to a temporary name, sha256sum
// on the device, rename into place. "uploadNoVerify" is the transfer alone,
// the fair comparison with scp (which checks nothing end to end). Downloads
// likewise ("download" hashes both sides and renames into place).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HostKeyStore } from '../src-main/services/direct/host-key-store';
import { downloadFile, uploadFile } from '../src-main/services/direct/sftp-transfer';
import { SshConnection } from '../src-main/services/direct/ssh-connection';
import { tempDir } from '../tests/support/processes';
import { startTestSshd } from '../tests/support/sshd';

const sizeMiB = Number(process.argv[2] ?? 256);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
if (!(sizeMiB > 0) || !(rounds > 0)) throw new Error('usage: tsx bench/direct-sftp.ts [SIZE_MIB] (BENCH_ROUNDS=N, BENCH_TUNE=1)');

const note = (s: string) => process.stderr.write(`${s}\n`);
const mbps = (bytes: number, ms: number) => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;

const work = tempDir('bench-direct-sftp');
const sshd = await startTestSshd();
const store = HostKeyStore.open(join(work.path, 'cache.db'));
try {
  const file = join(work.path, 'payload.bin');
  const bytes = sizeMiB * 1024 * 1024;
  note(`making a ${sizeMiB} MiB file`);
  const fd = openSync(file, 'w');
  for (let done = 0; done < bytes; done += 8 * 1024 * 1024) writeSync(fd, randomBytes(Math.min(8 * 1024 * 1024, bytes - done)));
  closeSync(fd);
  const conn = await SshConnection.connect(
    { deviceId: 'bench', host: sshd.host, port: sshd.port, username: sshd.username, auth: { kind: 'key', privateKey: sshd.clientKeyPem } },
    { hostKeys: store },
  );
  const dest = (name: string) => join(work.path, name);

  const scpMs: number[] = [];
  const upload: number[] = [];
  const uploadNoVerify: number[] = [];
  const scpDownMs: number[] = [];
  const download: number[] = [];
  const downloadNoVerify: number[] = [];
  for (let run = 1; run <= rounds; run++) {
    note(`round ${run}: scp`);
    let t0 = performance.now();
    execFileSync('scp', ['-q', ...sshd.sshOptions(), '-P', String(sshd.port), file, `${sshd.username}@127.0.0.1:${dest('scp.bin')}`], { stdio: 'ignore', timeout: 600_000 });
    scpMs.push(performance.now() - t0);
    rmSync(dest('scp.bin'));
    note(`round ${run}: sftp fastPut (no verify)`);
    t0 = performance.now();
    await uploadFile(conn, file, dest('raw.bin'), { verify: false });
    uploadNoVerify.push(performance.now() - t0);
    rmSync(dest('raw.bin'));
    note(`round ${run}: sftp upload (temp name, sha256sum on the device, rename)`);
    const r = await uploadFile(conn, file, dest('verified.bin'));
    if (!r.verified) throw new Error('the upload was not verified: is sha256sum missing?');
    upload.push(r.elapsedMs);
    rmSync(dest('verified.bin'));
    note(`round ${run}: scp download`);
    t0 = performance.now();
    execFileSync('scp', ['-q', ...sshd.sshOptions(), '-P', String(sshd.port), `${sshd.username}@127.0.0.1:${file}`, dest('scp-down.bin')], { stdio: 'ignore', timeout: 600_000 });
    scpDownMs.push(performance.now() - t0);
    rmSync(dest('scp-down.bin'));
    note(`round ${run}: sftp fastGet (no verify)`);
    t0 = performance.now();
    await downloadFile(conn, file, dest('raw-down.bin'), { verify: false });
    downloadNoVerify.push(performance.now() - t0);
    rmSync(dest('raw-down.bin'));
    note(`round ${run}: sftp download (sha256 both sides, rename)`);
    const d = await downloadFile(conn, file, dest('verified-down.bin'));
    if (!d.verified) throw new Error('the download was not verified');
    download.push(d.elapsedMs);
    rmSync(dest('verified-down.bin'));
  }

  const tune: { concurrency: number; chunkKiB: number; MBps: number }[] = [];
  if (process.env.BENCH_TUNE) {
    for (const concurrency of [16, 32, 64, 128]) {
      for (const chunkKiB of [32, 64, 128, 255]) {
        const t0 = performance.now();
        await uploadFile(conn, file, dest('tune.bin'), { verify: false, concurrency, chunkSize: chunkKiB * 1024 });
        tune.push({ concurrency, chunkKiB, MBps: mbps(bytes, performance.now() - t0) });
        rmSync(dest('tune.bin'));
        note(`tune ${concurrency} x ${chunkKiB} KiB: ${tune.at(-1)!.MBps} MB/s`);
      }
    }
  }
  conn.close();

  const best = (xs: number[]) => Math.min(...xs);
  const ratio = (peer: number[], ours: number[]) => Math.round((best(peer) / best(ours)) * 100) / 100;
  console.log(
    JSON.stringify(
      {
        bench: 'direct-sftp',
        sizeMiB,
        rounds,
        scp: { ms: scpMs.map(Math.round), bestMBps: mbps(bytes, best(scpMs)) },
        uploadNoVerify: { ms: uploadNoVerify.map(Math.round), bestMBps: mbps(bytes, best(uploadNoVerify)) },
        upload: { ms: upload.map(Math.round), bestMBps: mbps(bytes, best(upload)) },
        scpDownload: { ms: scpDownMs.map(Math.round), bestMBps: mbps(bytes, best(scpDownMs)) },
        downloadNoVerify: { ms: downloadNoVerify.map(Math.round), bestMBps: mbps(bytes, best(downloadNoVerify)) },
        download: { ms: download.map(Math.round), bestMBps: mbps(bytes, best(download)) },
        // > 1 means faster than scp in the same direction
        ratioVsScp: {
          uploadNoVerify: ratio(scpMs, uploadNoVerify),
          upload: ratio(scpMs, upload),
          downloadNoVerify: ratio(scpDownMs, downloadNoVerify),
          download: ratio(scpDownMs, download),
        },
        ...(tune.length ? { tune } : {}),
      },
      null,
      2,
    ),
  );
} finally {
  store.close();
  await sshd.stop();
  work.remove();
}
