// Same-run peer for the hub capacity benchmark: a bare grpc-js TLS server
// whose only work is holding one bidi stream per connection and echoing
// heartbeats, driven by N clients each on its own TLS connection (the same
// channel options the simulator uses). What the hub costs beyond this is ours.
//
// Run as a library (measureBaseline) or as a child role:
//   tsx bench/peer/grpc-baseline.ts server PORT CERT KEY
//   tsx bench/peer/grpc-baseline.ts clients PORT CERT N
import * as grpc from '@grpc/grpc-js';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, repoRoot, tempDir, waitFor } from '../../tests/support/processes';
import { sampleUsage } from '../../tests/support/proc-usage';

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const service: grpc.ServiceDefinition = {
  Connect: { path: '/bench.Baseline/Connect', requestStream: true, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
};

function runServer(port: number, cert: string, key: string) {
  let streams = 0;
  const server = new grpc.Server({ 'grpc.keepalive_time_ms': 60_000, 'grpc.keepalive_permit_without_calls': 1 });
  server.addService(service, {
    Connect: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      streams++;
      call.on('data', (b: Buffer) => call.write(b));
      call.on('end', () => call.end());
      call.on('close', () => streams--);
      call.on('error', () => undefined);
    },
  });
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(cert), private_key: readFileSync(key) }]), (err) => {
    if (err) throw err;
    console.log('listening');
    setInterval(() => console.log(`streams ${streams}`), 500);
  });
}

function runClients(port: number, cert: string, n: number) {
  const Client = grpc.makeGenericClientConstructor(service, 'Baseline');
  const creds = grpc.credentials.createSsl(readFileSync(cert), null, null, { checkServerIdentity: () => undefined });
  for (let i = 0; i < n; i++) {
    setTimeout(() => {
      const client = new Client(`127.0.0.1:${port}`, creds, { 'grpc.use_local_subchannel_pool': 1, 'grpc.ssl_target_name_override': 'fleet-hub' });
      const call = (client as unknown as { Connect(): grpc.ClientDuplexStream<Buffer, Buffer> }).Connect();
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.write(Buffer.from('hello'));
      setInterval(() => call.write(Buffer.from('heartbeat')), 30_000);
    }, Math.floor((i * Math.min(n * 2, 20_000)) / n)); // same spread as the simulator
  }
}

export async function measureBaseline(n: number, steadyMs: number): Promise<{ connectMs: number; rssMiB: number; steadyCpuCores: number }> {
  const dir = tempDir('bench-peer');
  const cert = join(dir.path, 'peer.crt');
  const key = join(dir.path, 'peer.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=fleet-hub', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const port = await freePort();
  // node --import tsx keeps each role in one process we can measure and kill.
  const node = (...args: string[]) => [process.execPath, ['--import', 'tsx', ...args]] as const;
  const self = join(repoRoot, 'bench/peer/grpc-baseline.ts');
  const server = spawn(...node(self, 'server', String(port), cert, key), { stdio: ['ignore', 'pipe', 'inherit'] });
  let streams = 0;
  let listening = false;
  server.stdout.on('data', (d: Buffer) => {
    const text = d.toString();
    if (text.includes('listening')) listening = true;
    const m = [...text.matchAll(/streams (\d+)/g)].pop();
    if (m) streams = Number(m[1]);
  });
  let clients: ReturnType<typeof spawn> | undefined;
  try {
    await waitFor('baseline server', () => listening, 30_000);
    const t0 = Date.now();
    clients = spawn(...node(self, 'clients', String(port), cert, String(n)), { stdio: 'inherit' });
    await waitFor(`${n} baseline streams`, () => streams >= n, 600_000, 200);
    const connectMs = Date.now() - t0;
    const steady = await sampleUsage(server.pid!, steadyMs);
    return { connectMs, rssMiB: Math.round(steady.rssEnd / 1048576), steadyCpuCores: Math.round(steady.cpuCores * 1000) / 1000 };
  } finally {
    clients?.kill('SIGKILL');
    server.kill('SIGKILL');
    dir.remove();
  }
}

const [role, ...args] = process.argv.slice(2);
if (role === 'server') runServer(Number(args[0]), args[1], args[2]);
if (role === 'clients') runClients(Number(args[0]), args[1], Number(args[2]));
