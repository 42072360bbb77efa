// Benchmark: `node dist/bench/webhook-load.js`. Admission reviews per second and latency of the
// pillion webhook for a typical Deployment pod that gets injected, as a RATIO to a bare fastify
// HTTPS route returning a fixed AdmissionReview (the ceiling), both measured in this run on this
// machine; plus p99 at half of each server's peak rate and the server's peak RSS.
// Two pillion workloads: "replicas" — the same pod every time with a fresh uid, as a ReplicaSet
// scale-up sends it (answered from the decision cache after the first); "distinct" — every pod
// different (a label counts up), so every review is rendered, merged and diffed from scratch.
// Server, ceiling and load generator each run in their own process, on loopback only.
// Env: BENCH_SECONDS (per phase, default 5), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 8), BENCH_DECISION_CACHE
// (entries; 0 turns pillion's decision cache off, to see the uncached cost on both workloads).
// Table on stdout; JSON in bench/results/webhook-load.json; progress on stderr.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { generateSelfSignedCertificates } from '../injector/webhook/self-signed.js';
import type { JsonObject } from '../injector/core/types.js';
import { repoPath } from '../test/support/paths.js';
import { sendHttps } from '../test/injector/webhook/support/https-client.js';
import { buildReview, loadDeploymentPod } from '../test/injector/webhook/support/reviews.js';

/** What the load generator saw (client side: TLS, both event loops, the kernel, the server). */
interface ClientResult {
  requests: number;
  errors: number;
  non200: number;
  elapsedMs: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 of the load generator's own event-loop delay: how late it was to see answers. */
  clientLoopDelayP99Ms: number;
}

interface LoadResult extends ClientResult {
  /**
   * Server side, from the server's pillion_admission_duration_seconds histogram over this phase
   * (request received to answer sent): the upper bound of the bucket holding the quantile.
   */
  serverP50AtMostMs: number;
  serverP99AtMostMs: number;
}

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const dist = repoPath('dist', 'bench');
const podFile = repoPath('test', 'injector', 'webhook', 'fixtures', 'deployment-pod.json');

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

interface Workload {
  readonly bodyFile: string;
  readonly stamp: { uid: Stamp; seq?: Stamp };
}

interface Stamp {
  offset: number;
  width: number;
}

// Every load run's pods are numbered from its own block, so no two runs of one bench send the same
// pod (a run sends far fewer than a block's 10^9 requests).
let loadRuns = 0;

async function runLoad(port: number, ca: string, workload: Workload, durationMs: number, rate?: number): Promise<LoadResult> {
  const before = await scrapeLatencyBuckets(port, ca);
  const firstSeq = loadRuns++ * 1_000_000_000;
  const args = JSON.stringify({ port, ca, ...workload, connections, durationMs, firstSeq, ...(rate === undefined ? {} : { rate }) });
  const child = spawn(process.execPath, [join(dist, 'webhook-loadgen.js'), args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const result = await nextJson<ClientResult>(jsonLines(child));
  await new Promise((r) => child.once('exit', r));
  if (result.errors > 0 || result.non200 > 0) throw new Error(`load run had ${result.errors} errors and ${result.non200} non-200 answers`);
  const after = await scrapeLatencyBuckets(port, ca);
  return { ...result, serverP50AtMostMs: bucketQuantileMs(before, after, 0.5), serverP99AtMostMs: bucketQuantileMs(before, after, 0.99) };
}

/** The server's /metrics text (Prometheus format), over the same TLS as the load. */
async function scrapeMetrics(port: number, ca: string): Promise<string> {
  const answer = await sendHttps({ port, ca, method: 'GET', path: '/metrics' });
  if (answer.status !== 200) throw new Error(`GET /metrics answered ${answer.status}`);
  return answer.body;
}

/** Cumulative counts of the server's latency histogram buckets, by upper bound in seconds. */
async function scrapeLatencyBuckets(port: number, ca: string): Promise<Map<number, number>> {
  const buckets = new Map<number, number>();
  for (const match of (await scrapeMetrics(port, ca)).matchAll(/^pillion_admission_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    buckets.set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2]));
  }
  if (buckets.size === 0) throw new Error('the server exposes no pillion_admission_duration_seconds histogram');
  return buckets;
}

/** Pods injected, and how many of those answers came from the decision cache (pillion only). */
async function scrapeCacheCounters(port: number, ca: string): Promise<{ injections: number; cacheHits: number }> {
  const text = await scrapeMetrics(port, ca);
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
  return { injections: read('pillion_injections_total'), cacheHits: read('pillion_decision_cache_hits_total') };
}

/** Upper bound (ms) of the first bucket holding `q` of the requests counted between two scrapes. */
function bucketQuantileMs(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const bound of bounds) {
    if ((after.get(bound) ?? 0) - (before.get(bound) ?? 0) >= q * total) return bound * 1000;
  }
  return Infinity;
}

interface ServerRun {
  /** The round whose peak rate was the median of all rounds. */
  peak: LoadResult;
  /** The half-peak run (at half the median peak) whose p99 was the median of all rounds. */
  halfPeak: LoadResult;
  /** Median over rounds of this server's peak rate / the ceiling's peak rate in the same round. */
  throughputRatio: number;
  rounds: { peak: LoadResult[]; halfPeak: LoadResult[] };
  maxRssBytes: number;
  /** Pillion only: pods injected, and how many of those answers came from the decision cache. */
  injections?: number;
  cacheHits?: number;
}

interface Subject {
  readonly name: string;
  readonly mode: 'pillion' | 'ceiling';
  readonly workload: Workload;
}

interface RunningServer {
  readonly port: number;
  /** SIGTERM, then the server's exit report. */
  stop(): Promise<Pick<ServerRun, 'maxRssBytes'>>;
  kill(): void;
}

async function startServer(mode: Subject['mode'], certFile: string, keyFile: string): Promise<RunningServer> {
  const server = spawn(process.execPath, [join(dist, 'webhook-bench-server.js'), mode, certFile, keyFile, podFile], {
    stdio: ['ignore', 'pipe', 'ignore'], // pillion's info logs are written (as in production), then discarded
  });
  const lines = jsonLines(server);
  const { port } = await nextJson<{ port: number }>(lines);
  return {
    port,
    async stop() {
      server.kill('SIGTERM');
      return nextJson(lines);
    },
    kill() {
      if (server.exitCode === null) server.kill('SIGKILL');
    },
  };
}

function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (middle === undefined) throw new Error('no rounds');
  return middle;
}

/**
 * Every server runs at once (idle unless loaded) and the phases interleave round by round —
 * ceiling, pillion, pillion, ceiling, … — so a slow spell of this shared machine hits all of them
 * alike; medians over the rounds are reported.
 */
async function measure(subjects: readonly Subject[], certFile: string, keyFile: string, ca: string): Promise<ServerRun[]> {
  const servers: RunningServer[] = [];
  try {
    for (const subject of subjects) servers.push(await startServer(subject.mode, certFile, keyFile));
    const at = (i: number): { subject: Subject; server: RunningServer } => ({ subject: subjects[i] as Subject, server: servers[i] as RunningServer });
    for (let i = 0; i < subjects.length; i++) {
      log(`${at(i).subject.name}: warm-up`);
      await runLoad(at(i).server.port, ca, at(i).subject.workload, 2000);
    }
    const peaks: LoadResult[][] = subjects.map(() => []);
    for (let round = 1; round <= rounds; round++) {
      for (let i = 0; i < subjects.length; i++) {
        log(`round ${round}/${rounds} ${at(i).subject.name}: peak, ${connections} keep-alive connections, ${seconds}s`);
        peaks[i]?.push(await runLoad(at(i).server.port, ca, at(i).subject.workload, seconds * 1000));
      }
    }
    const halves: LoadResult[][] = subjects.map(() => []);
    for (let round = 1; round <= rounds; round++) {
      for (let i = 0; i < subjects.length; i++) {
        const rate = Math.floor(medianBy(peaks[i] ?? [], (r) => r.rps).rps / 2);
        log(`round ${round}/${rounds} ${at(i).subject.name}: half peak, ${rate}/s open loop, ${seconds}s`);
        halves[i]?.push(await runLoad(at(i).server.port, ca, at(i).subject.workload, seconds * 1000, rate));
      }
    }
    const ceilingPeaks = peaks[0] ?? [];
    const runs: ServerRun[] = [];
    for (let i = 0; i < subjects.length; i++) {
      const own = peaks[i] ?? [];
      const ratios = own.map((r, round) => r.rps / (ceilingPeaks[round]?.rps ?? Number.NaN));
      runs.push({
        peak: medianBy(own, (r) => r.rps),
        halfPeak: medianBy(halves[i] ?? [], (r) => r.p99Ms),
        throughputRatio: medianBy(ratios, (r) => r),
        rounds: { peak: own, halfPeak: halves[i] ?? [] },
        ...(at(i).subject.mode === 'pillion' ? await scrapeCacheCounters(at(i).server.port, ca) : {}),
        ...(await at(i).server.stop()),
      });
    }
    return runs;
  } finally {
    for (const server of servers) server.kill();
  }
}

/**
 * The review body as the API server writes it (the tests' buildReview: Go struct field order), with
 * a label whose value the load generator can count up. Returns where
 * the uid's last 12 hex digits and that label value sit in the body.
 */
function writeReviewBody(file: string): { uid: Stamp; seq: Stamp } {
  const pod = loadDeploymentPod();
  const seqValue = '000000000000';
  ((pod.metadata as JsonObject).labels as JsonObject)['bench.pillion.dev/seq'] = seqValue;
  const uid = '705ab4f5-6393-11e8-b7cc-000000000000';
  const text = JSON.stringify(buildReview(pod, { uid, namespace: 'shop' }));
  writeFileSync(file, text);
  // The body is ASCII, so string offsets are byte offsets.
  return {
    uid: { offset: text.indexOf(uid) + uid.length - 12, width: 12 },
    seq: { offset: text.indexOf(`"bench.pillion.dev/seq":"${seqValue}"`) + '"bench.pillion.dev/seq":"'.length, width: seqValue.length },
  };
}

const work = mkdtempSync(join(tmpdir(), `pillion-bench-${process.pid}-`));
try {
  const generated = await generateSelfSignedCertificates({ service: 'localhost', namespace: 'bench' });
  const certFile = join(work, 'tls.crt');
  const keyFile = join(work, 'tls.key');
  const bodyFile = join(work, 'review.json');
  writeFileSync(certFile, generated.certPem);
  writeFileSync(keyFile, generated.keyPem);
  const workload = writeReviewBody(bodyFile);

  const [ceiling, replicas, distinct] = await measure(
    [
      { name: 'ceiling', mode: 'ceiling', workload: { bodyFile, stamp: { uid: workload.uid } } },
      { name: 'pillion replicas', mode: 'pillion', workload: { bodyFile, stamp: { uid: workload.uid } } },
      { name: 'pillion distinct', mode: 'pillion', workload: { bodyFile, stamp: workload } },
    ],
    certFile,
    keyFile,
    generated.caPem,
  );
  if (ceiling === undefined || replicas === undefined || distinct === undefined) throw new Error('a server run is missing');
  // The two workloads must be what they claim: replicas answered from the cache, distinct never.
  const hitShare = (r: ServerRun): number => (r.cacheHits ?? Number.NaN) / (r.injections ?? Number.NaN);
  const cacheOff = process.env.BENCH_DECISION_CACHE === '0';
  if (cacheOff ? replicas.cacheHits !== 0 : !(hitShare(replicas) > 0.99)) {
    throw new Error(`replicas workload: ${hitShare(replicas)} of answers were cache hits with the cache ${cacheOff ? 'off' : 'on'}`);
  }
  if (distinct.cacheHits !== 0) throw new Error(`distinct workload: ${distinct.cacheHits} cache hits, expected none`);

  const row = (name: string, r: ServerRun): string =>
    [name.padEnd(26), r.peak.rps.toFixed(0).padStart(8), `${(r.throughputRatio * 100).toFixed(0)}%`.padStart(7), r.peak.p50Ms.toFixed(2).padStart(8),
      r.peak.p99Ms.toFixed(2).padStart(8), r.halfPeak.p50Ms.toFixed(2).padStart(10), r.halfPeak.p99Ms.toFixed(2).padStart(10),
      `≤${r.halfPeak.serverP99AtMostMs}`.padStart(12), r.halfPeak.clientLoopDelayP99Ms.toFixed(2).padStart(10), (r.maxRssBytes / 2 ** 20).toFixed(0).padStart(8)].join(' ');
  const table = [
    `webhook-load: ${connections} keep-alive TLS connections, ${rounds} interleaved rounds of ${seconds}s per phase (medians), ${cpus().length} CPUs (servers and load generator share them)`,
    `${'server'.padEnd(26)} ${'rev/s'.padStart(8)} ${'of ceil'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'½ p50 ms'.padStart(10)} ${'½ p99 ms'.padStart(10)} ${'½ srv p99'.padStart(12)} ${'½ gen lag'.padStart(10)} ${'RSS MiB'.padStart(8)}`,
    row('ceiling (fixed answer)', ceiling),
    row('pillion, replicas', replicas),
    row('pillion, distinct pods', distinct),
    '(½: open loop at half the peak rate; srv p99: server-side, bucket bound of its own latency histogram; gen lag: p99 of the load generator\'s event-loop delay)',
  ].join('\n');
  process.stdout.write(table + '\n');

  const results = {
    benchmark: 'webhook-load',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    connections,
    secondsPerPhase: seconds,
    rounds,
    decisionCache: process.env.BENCH_DECISION_CACHE ?? 'default',
    pod: 'test/injector/webhook/fixtures/deployment-pod.json (injected)',
    ceiling,
    replicas,
    distinct,
  };
  mkdirSync(repoPath('bench', 'results'), { recursive: true });
  writeFileSync(repoPath('bench', 'results', 'webhook-load.json'), JSON.stringify(results, null, 2) + '\n');
  log('wrote bench/results/webhook-load.json');
} finally {
  rmSync(work, { recursive: true, force: true });
}
