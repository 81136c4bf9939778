import { execFile } from 'node:child_process';

// Health checks after the reboot into a new system (besides "the agent
// reaches the hub", which the engine checks itself): systemd units that must
// be active, and device-side check scripts that must exit 0. Each throws a
// message that becomes the reason of the rollback.

export interface HealthCheck {
  name: string;
  run(signal: AbortSignal): Promise<void>;
}

const OUTPUT_TAIL = 400;

function run(file: string, args: string[], timeoutMs: number, signal: AbortSignal): Promise<{ code: number | string | null; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, signal, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim().slice(-OUTPUT_TAIL);
      if (!err) return resolve({ code: 0, output });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
      resolve({ code: e.killed ? 'timeout' : typeof e.code === 'number' ? e.code : (e.signal ?? e.code ?? e.message), output });
    });
  });
}

/** `systemctl is-active UNIT` must print active (exit 0). */
export function systemdUnitCheck(unit: string, timeoutMs = 10_000): HealthCheck {
  return {
    name: `unit ${unit}`,
    async run(signal) {
      const { code, output } = await run('systemctl', ['is-active', unit], timeoutMs, signal);
      if (code !== 0) throw new Error(`systemd unit ${unit} is not active (${output || `systemctl exit ${code}`})`);
    },
  };
}

/** A device-side check script: exit 0 = healthy. */
export function scriptCheck(path: string, timeoutMs = 60_000): HealthCheck {
  return {
    name: `script ${path}`,
    async run(signal) {
      const { code, output } = await run(path, [], timeoutMs, signal);
      if (code === 'timeout') throw new Error(`check script ${path} did not finish within ${timeoutMs / 1000} s`);
      if (code !== 0) throw new Error(`check script ${path} failed (exit ${code})${output ? `: ${output}` : ''}`);
    },
  };
}
