// Benchmark: `node dist/bench/webhook-load.js`. Admission reviews per second and latency of the
// pillion webhook for a typical Deployment pod that gets injected, as a RATIO to a bare fastify
// HTTPS route returning a fixed AdmissionReview (the ceiling), both measured in this run on this
// machine; plus p99 at half of each server's peak rate and the server's peak RSS.
// Server, ceiling and load generator each run in their own process, on loopback only.
// Env: BENCH_SECONDS (per phase, default 10), BENCH_CONNECTIONS (default 8).
// Table on stdout; JSON in bench/results/webhook-load.json; progress on stderr.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { generateSelfSignedCertificates } from '../injector/webhook/self-signed.js';
import { repoPath } from '../test/support/paths.js';

interface LoadResult {
  requests: number;
  errors: number;
  non200: number;
  elapsedMs: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const dist = repoPath('dist', 'bench');
const podFile = repoPath('test', 'webhook', 'fixtures', 'deployment-pod.json');

function log(message: string): void {
  process.stderr.write(`# ${message}\n`);
}

/** Lines of a child's stdout, one JSON object each. */
function jsonLines(child: ChildProcess): AsyncIterator<string> {
  if (child.stdout === null) throw new Error('child has no stdout');
  return createInterface({ input: child.stdout })[Symbol.asyncIterator]();
}

async function nextJson<T>(lines: AsyncIterator<string>): Promise<T> {
  const next = await lines.next();
  if (next.done === true) throw new Error('child exited before reporting');
  return JSON.parse(next.value) as T;
}

async function runLoad(port: number, ca: string, bodyFile: string, durationMs: number, rate?: number): Promise<LoadResult> {
  const args = JSON.stringify({ port, ca, bodyFile, connections, durationMs, ...(rate === undefined ? {} : { rate }) });
  const child = spawn(process.execPath, [join(dist, 'webhook-loadgen.js'), args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const result = await nextJson<LoadResult>(jsonLines(child));
  await new Promise((r) => child.once('exit', r));
  if (result.errors > 0 || result.non200 > 0) throw new Error(`load run had ${result.errors} errors and ${result.non200} non-200 answers`);
  return result;
}

interface ServerRun {
  peak: LoadResult;
  halfPeak: LoadResult;
  maxRssBytes: number;
}

async function measureServer(mode: 'pillion' | 'ceiling', certFile: string, keyFile: string, ca: string, bodyFile: string): Promise<ServerRun> {
  const server = spawn(process.execPath, [join(dist, 'webhook-bench-server.js'), mode, certFile, keyFile, podFile], {
    stdio: ['ignore', 'pipe', 'ignore'], // pillion's info logs are written (as in production), then discarded
  });
  try {
    const lines = jsonLines(server);
    const { port } = await nextJson<{ port: number }>(lines);
    log(`${mode}: warm-up`);
    await runLoad(port, ca, bodyFile, 2000);
    log(`${mode}: peak, ${connections} keep-alive connections, ${seconds}s`);
    const peak = await runLoad(port, ca, bodyFile, seconds * 1000);
    const rate = Math.floor(peak.rps / 2);
    log(`${mode}: half peak, ${rate}/s open loop, ${seconds}s`);
    const halfPeak = await runLoad(port, ca, bodyFile, seconds * 1000, rate);
    server.kill('SIGTERM');
    const { maxRssBytes } = await nextJson<{ maxRssBytes: number }>(lines);
    return { peak, halfPeak, maxRssBytes };
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

const work = mkdtempSync(join(tmpdir(), `pillion-bench-${process.pid}-`));
try {
  const generated = await generateSelfSignedCertificates({ service: 'localhost', namespace: 'bench' });
  const certFile = join(work, 'tls.crt');
  const keyFile = join(work, 'tls.key');
  const bodyFile = join(work, 'review.json');
  writeFileSync(certFile, generated.certPem);
  writeFileSync(keyFile, generated.keyPem);
  const { readFileSync } = await import('node:fs');
  const pod = JSON.parse(readFileSync(podFile, 'utf8')) as unknown;
  writeFileSync(
    bodyFile,
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'shop',
        operation: 'CREATE',
        userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
        object: pod,
        oldObject: null,
        dryRun: false,
      },
    }),
  );

  const ceiling = await measureServer('ceiling', certFile, keyFile, generated.caPem, bodyFile);
  const pillion = await measureServer('pillion', certFile, keyFile, generated.caPem, bodyFile);
  const ratio = pillion.peak.rps / ceiling.peak.rps;

  const row = (name: string, r: ServerRun): string =>
    [name.padEnd(22), r.peak.rps.toFixed(0).padStart(8), r.peak.p50Ms.toFixed(2).padStart(8), r.peak.p99Ms.toFixed(2).padStart(8),
      r.halfPeak.p50Ms.toFixed(2).padStart(10), r.halfPeak.p99Ms.toFixed(2).padStart(10), (r.maxRssBytes / 2 ** 20).toFixed(0).padStart(8)].join(' ');
  const table = [
    `webhook-load: ${connections} keep-alive TLS connections, ${seconds}s per phase, ${cpus().length} CPUs (server, ceiling and load generator share them)`,
    `${'server'.padEnd(22)} ${'rev/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'½ p50 ms'.padStart(10)} ${'½ p99 ms'.padStart(10)} ${'RSS MiB'.padStart(8)}`,
    row('ceiling (fixed answer)', ceiling),
    row('pillion webhook', pillion),
    `pillion / ceiling throughput: ${(ratio * 100).toFixed(1)}%   p99 at half peak: ${pillion.halfPeak.p99Ms.toFixed(2)} ms (ceiling ${ceiling.halfPeak.p99Ms.toFixed(2)} ms)`,
  ].join('\n');
  process.stdout.write(table + '\n');

  const results = {
    benchmark: 'webhook-load',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    connections,
    secondsPerPhase: seconds,
    pod: 'test/webhook/fixtures/deployment-pod.json (injected)',
    ceiling,
    pillion,
    throughputRatio: ratio,
    p99AtHalfPeakMs: pillion.halfPeak.p99Ms,
  };
  mkdirSync(repoPath('bench', 'results'), { recursive: true });
  writeFileSync(repoPath('bench', 'results', 'webhook-load.json'), JSON.stringify(results, null, 2) + '\n');
  log('wrote bench/results/webhook-load.json');
} finally {
  rmSync(work, { recursive: true, force: true });
}
