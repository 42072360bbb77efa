// Benchmark: `node dist/bench/webhook-load.js`. Admission reviews of real pods per second, CPU per
// review, latency and memory of the pillion webhook, as RATIOS to a bare fastify HTTPS ceiling fed
// the same bodies, all measured in this run on this machine.
//
// The bodies: what a real kube-apiserver sends a mutating webhook when the controllers create the
// pod of every workload template in the real public manifests of test/corpus/manifests and
// ../shared/corpus/manifests (captured in bench/fixtures/admission-reviews.json, see
// bench/webhook-pods.ts). Two pillion workloads, each on its own server process:
// - "repeats": the requests go round the pods, each with a fresh uid, as replicas of a scale-up
//   arrive (pillion answers them from its decision cache after the second);
// - "unseen": the same round, but every request's pod is one never sent before: a counter is
//   written over its pod-template-hash / controller-revision-hash / owner, as a new rollout's pods
//   differ, so every review is decided, rendered, merged and diffed from scratch.
// The ceiling (bench/webhook-bench-server.ts) parses every body and answers with the answer pillion
// gave for that pod; it gets the unseen workload's bodies.
//
// It passes only if every answer is right: before the load, each pod's answer from each pillion
// server is decoded, its patch applied (validating every operation) and checked for the proxy, and
// compared with the core's own injectPod; the ceiling must give the same bytes. During the load the
// generator checks each answer's uid and patch-or-not; afterwards the servers' counters must show
// no cache hit for unseen pods and nearly only hits for repeats.
//
// Env: BENCH_SECONDS (per phase, default 5), BENCH_ROUNDS (default 5), BENCH_CONNECTIONS (default 8),
// BENCH_WORKLOADS (default "repeats,unseen": which pillion workloads run),
// BENCH_DECISION_CACHE (entries; 0 turns pillion's decision cache off), BENCH_BASELINE_DIST (another
// build's dist/ folder: adds its repeats and unseen servers to the same run, for before/after),
// BENCH_CPU_PROF (a folder: every server runs with --cpu-prof there), BENCH_NICE (a niceness such as
// -10, root only: servers and load generators get that priority, so a machine busy with other work
// disturbs the run less; every server gets the same), BENCH_PILLION_FLAGS (Node flags for this build's
// pillion servers only, not the baseline's, e.g. "--max-semi-space-size=32", to try V8 settings against the same ceiling;
// default: the flags Dockerfile.injector's ENTRYPOINT gives Node, so the servers run as the image runs them;
// set it empty for none).
// Table on stdout; JSON in bench/results/webhook-load.json; progress on stderr.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { cpus, setPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { injectPod } from '../injector/core/inject.js';
import { loadSetup } from '../injector/core/setup.js';
import { bundledTemplatesDir } from '../injector/core/templates.js';
import { generateSelfSignedCertificates } from '../injector/webhook/self-signed.js';
import { repoPath } from '../test/support/paths.js';
import { sendHttps } from '../test/injector/webhook/support/https-client.js';
import { applyPatchTo, decodePatch, hasProxy, readAnswer } from '../test/injector/webhook/support/reviews.js';
import { median } from './stats.js';
import type { BenchServerOptions } from './webhook-bench-server.js';
import type { ClientResult, LoadBody, LoadOptions } from './webhook-loadgen.js';
import { capturedTime, capturedUid, loadCorpusPods, revisionPlaceholder } from './webhook-pods.js';
import type { BenchPod } from './webhook-pods.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const baselineDist = process.env.BENCH_BASELINE_DIST === undefined ? undefined : resolve(process.env.BENCH_BASELINE_DIST);
const cpuProfDir = process.env.BENCH_CPU_PROF === undefined ? undefined : resolve(process.env.BENCH_CPU_PROF);
const dist = repoPath('dist', 'bench');
const meshed = { 'pillion.dev/inject': 'enabled' };
const workloads = (process.env.BENCH_WORKLOADS ?? 'repeats,unseen').split(',').map((w): 'repeats' | 'unseen' => {
  if (w !== 'repeats' && w !== 'unseen') throw new Error(`BENCH_WORKLOADS: ${w} is neither repeats nor unseen`);
  return w;
});
const nice = process.env.BENCH_NICE === undefined ? undefined : Number(process.env.BENCH_NICE);
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || '100');

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

// ---- the bodies ----

interface Prepared {
  readonly pods: readonly BenchPod[];
  readonly bodies: readonly LoadBody[];
  readonly sizes: readonly number[];
}

/** An answer's fields after the uid (without the closing braces): what the ceiling is given to send. */
function answerTail(body: string): string {
  return body.slice(body.indexOf(`"${capturedUid}"`) + capturedUid.length + 3, -2);
}

/** UTF-8 byte offsets of every occurrence of `needle` (ASCII) in `text`. */
function byteOffsetsOf(text: string, needle: string): number[] {
  const offsets: number[] = [];
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) offsets.push(Buffer.byteLength(text.slice(0, at)));
  return offsets;
}

function prepareBodies(work: string, templatesDir: string): Prepared {
  const pods = loadCorpusPods();
  const setup = loadSetup({ templatesDir });
  const bodies: LoadBody[] = [];
  const sizes: number[] = [];
  pods.forEach((p, i) => {
    assert.ok(p.revisionSlots > 0, `${p.source}: no revision token, its unseen pods would repeat`);
    const result = injectPod(structuredClone(p.pod), { namespace: p.namespace, namespaceLabels: meshed, mode: 'policy' }, setup);
    const text = p.body;
    const revisionOffsets = byteOffsetsOf(text, revisionPlaceholder);
    assert.equal(revisionOffsets.length, p.revisionSlots, `${p.source}: revision token count`);
    // The captured bodies' managedFields times are fixed (bench/webhook-pods.ts); the generator
    // writes each request's own time of day over them.
    const timeOffsets = byteOffsetsOf(text, capturedTime).map((at) => at + capturedTime.indexOf('00:00:00'));
    assert.ok(timeOffsets.length > 0, `${p.source}: no managedFields time`);
    const file = join(work, `body-${i}.json`);
    writeFileSync(file, text);
    sizes.push(Buffer.byteLength(text));
    bodies.push({ file, uidOffset: Buffer.byteLength(text.slice(0, text.indexOf(capturedUid))) + 24, revisionOffsets, timeOffsets, expectPatch: result.kind === 'injected' && result.patch.length > 0 });
  });
  return { pods, bodies, sizes };
}

// ---- servers ----

interface RunningServer {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly idleRssBytes: number;
  stop(): Promise<void>;
  kill(): void;
}

function procStatus(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 'NaN') * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** CPU seconds (user + system) the process has used: all its threads, and its main thread alone. */
function cpuSeconds(pid: number): { all: number; main: number } {
  const ticks = (file: string): number => {
    const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  };
  return { all: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`) };
}

function prioritise(child: ChildProcess): void {
  if (nice !== undefined && child.pid !== undefined) setPriority(child.pid, nice);
}

/** The Node flags of Dockerfile.injector's ENTRYPOINT (`["node", FLAGS..., SCRIPT]`): what the webhook ships with. */
function shippedNodeFlags(): string[] {
  const line = readFileSync(repoPath('Dockerfile.injector'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  const argv = line === undefined ? undefined : (JSON.parse(line.slice('ENTRYPOINT '.length)) as unknown);
  if (!Array.isArray(argv) || argv[0] !== 'node') throw new Error(`Dockerfile.injector: expected ENTRYPOINT ["node", ...], found ${line ?? 'none'}`);
  return (argv.slice(1) as string[]).filter((a) => a.startsWith('--'));
}

/** Node flags for this build's pillion servers: BENCH_PILLION_FLAGS when set, else the image's. */
const pillionFlags = process.env.BENCH_PILLION_FLAGS !== undefined ? process.env.BENCH_PILLION_FLAGS.split(' ').filter((f) => f !== '') : shippedNodeFlags();

async function startServer(name: string, options: BenchServerOptions): Promise<RunningServer> {
  const profile = cpuProfDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `${name.replace(/\W+/g, '-')}.cpuprofile`] : [];
  const flags = options.mode === 'pillion' && options.distRoot === undefined ? pillionFlags : [];
  const server = spawn(process.execPath, [...flags, ...profile, join(dist, 'webhook-bench-server.js'), JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'ignore'], // pillion's info logs are written (as in production), then discarded
  });
  prioritise(server);
  const lines = jsonLines(server);
  const { port } = await nextJson<{ port: number }>(lines);
  const pid = server.pid ?? Number.NaN;
  const exited = new Promise((r) => server.once('exit', r));
  return {
    name,
    pid,
    port,
    idleRssBytes: procStatus(pid).rss,
    async stop() {
      server.kill('SIGTERM');
      await exited;
    },
    kill() {
      if (server.exitCode === null) server.kill('SIGKILL');
    },
  };
}

/** The server's /metrics text (Prometheus format), over the same TLS as the load. */
async function scrapeMetrics(port: number, ca: string): Promise<string> {
  const answer = await sendHttps({ port, ca, method: 'GET', path: '/metrics' });
  if (answer.status !== 200) throw new Error(`GET /metrics answered ${answer.status}`);
  return answer.body;
}

interface Scrape {
  readonly buckets: Map<number, number>;
  readonly injections: number;
  readonly cacheHits: number;
}

async function scrape(port: number, ca: string): Promise<Scrape> {
  const text = await scrapeMetrics(port, ca);
  const buckets = new Map<number, number>();
  for (const match of text.matchAll(/^pillion_admission_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    buckets.set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2]));
  }
  if (buckets.size === 0) throw new Error('the server exposes no pillion_admission_duration_seconds histogram');
  const read = (metric: string): number => Number(new RegExp(`^${metric} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
  return { buckets, injections: read('pillion_injections_total'), cacheHits: read('pillion_decision_cache_hits_total') };
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

// ---- load ----

interface Subject {
  readonly name: string;
  readonly kind: 'ceiling' | 'repeats' | 'unseen';
  readonly server: RunningServer;
  /** Runs BENCH_BASELINE_DIST's build. */
  readonly baseline?: boolean;
}

interface Phase extends ClientResult {
  /** Server side: upper bound of the histogram bucket holding the quantile (request in to answer out). */
  serverP50AtMostMs: number;
  serverP99AtMostMs: number;
  /** Server process CPU (user + system, every thread) per review, µs. */
  cpuUsPerReview: number;
  /** The part of it not on the main (JavaScript) thread: V8's GC helpers, libuv's pool. */
  otherThreadsCpuUsPerReview: number;
  cacheHits: number;
  injections: number;
}

// Every load run's pods are counted from its own block, so no two runs send the same pod.
let loadRuns = 0;

async function runLoad(subject: Subject, bodies: readonly LoadBody[], ca: string, durationMs: number, rate?: number): Promise<Phase> {
  const { port, pid } = subject.server;
  const before = await scrape(port, ca);
  const options: LoadOptions = { port, ca, bodies, vary: subject.kind !== 'repeats', connections, durationMs, firstSeq: loadRuns++ * 1_000_000_000, ...(rate === undefined ? {} : { rate }) };
  const cpuBefore = cpuSeconds(pid);
  const child = spawn(process.execPath, [join(dist, 'webhook-loadgen.js'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  prioritise(child);
  const result = await nextJson<ClientResult>(jsonLines(child));
  await new Promise((r) => child.once('exit', r));
  const cpuAfter = cpuSeconds(pid);
  const after = await scrape(port, ca);
  const phase: Phase = {
    ...result,
    serverP50AtMostMs: bucketQuantileMs(before.buckets, after.buckets, 0.5),
    serverP99AtMostMs: bucketQuantileMs(before.buckets, after.buckets, 0.99),
    cpuUsPerReview: ((cpuAfter.all - cpuBefore.all) * 1e6) / result.requests,
    otherThreadsCpuUsPerReview: ((cpuAfter.all - cpuAfter.main - (cpuBefore.all - cpuBefore.main)) * 1e6) / result.requests,
    cacheHits: after.cacheHits - before.cacheHits,
    injections: after.injections - before.injections,
  };
  // Checks that fail the bench: every answer right, and each workload what it claims to be.
  const where = `${subject.name}${rate === undefined ? '' : ` at ${rate}/s`}`;
  if (result.errors > 0 || result.non200 > 0) throw new Error(`${where}: ${result.errors} errors and ${result.non200} non-200 answers`);
  if (result.wrongAnswers > 0) throw new Error(`${where}: ${result.wrongAnswers} wrong answers, the first: ${result.firstWrong}`);
  if (result.patched === 0 || result.unpatched === 0) throw new Error(`${where}: ${result.patched} patched and ${result.unpatched} unpatched answers; the pods include both`);
  if (subject.kind !== 'ceiling') {
    if (phase.injections !== result.patched) throw new Error(`${where}: the server counted ${phase.injections} injections, the generator saw ${result.patched} patches`);
    const cacheOff = process.env.BENCH_DECISION_CACHE === '0';
    if (subject.kind === 'unseen' && phase.cacheHits !== 0) throw new Error(`${where}: ${phase.cacheHits} cache hits for pods never seen before`);
    // Each pod is computed at most twice (the cache stores an answer the second time): the rest of
    // the repeats must be hits, however few requests a slow phase managed. (Not for a baseline
    // build: one from before 2026-12-03's session 17 keys managedFields' times too, so replicas of
    // different seconds miss there.)
    const computed = result.requests - phase.cacheHits;
    if (subject.kind === 'repeats' && subject.baseline !== true && (cacheOff ? phase.cacheHits !== 0 : computed > 2 * bodies.length)) {
      throw new Error(`${where}: ${phase.cacheHits} cache hits in ${result.requests} repeated reviews with the cache ${cacheOff ? 'off' : 'on'}`);
    }
  }
  return phase;
}

/**
 * Before any load: every pod's answer from every pillion server, decoded and checked against the
 * core's own decision; the patch applied as the API server would (every operation validated) must
 * give a pod with the proxy. The answers (after the uid) are returned, for the ceiling to give.
 */
async function verifyAnswers(servers: readonly { server: RunningServer; baseline: boolean }[], prepared: Prepared, ca: string, templatesDir: string): Promise<string[]> {
  const setup = loadSetup({ templatesDir });
  const tails: string[] = [];
  for (const [i, p] of prepared.pods.entries()) {
    const body = readFileSync(prepared.bodies[i]?.file ?? '');
    const expected = injectPod(structuredClone(p.pod), { namespace: p.namespace, namespaceLabels: meshed, mode: 'policy' }, setup);
    if (expected.kind !== 'injected' && expected.kind !== 'skipped') throw new Error(`${p.source}: the core decided ${(expected as { kind: string }).kind}`);
    let first: string | undefined;
    for (const { server, baseline } of servers) {
      const answer = await sendHttps({ port: server.port, ca, body });
      assert.equal(answer.status, 200, `${server.name} ${p.source}: status`);
      const response = readAnswer(answer.body, capturedUid);
      assert.equal(response.allowed, true, `${server.name} ${p.source}: allowed`);
      if (expected.kind === 'injected' && expected.patch.length > 0) {
        const patch = decodePatch(response);
        assert.ok(hasProxy(applyPatchTo(p.pod, patch)), `${server.name} ${p.source}: the patched pod has the proxy`);
        // A baseline build may have another core, hence another patch; this build's must be its core's.
        if (!baseline) assert.deepEqual(patch, JSON.parse(JSON.stringify(expected.patch)), `${server.name} ${p.source}: the patch is the core's`);
      } else {
        assert.equal(response.patch, undefined, `${server.name} ${p.source}: no patch for a skipped pod`);
      }
      if (baseline) continue;
      const tail = answerTail(answer.body);
      if (first === undefined) first = tail;
      else assert.equal(tail, first, `${server.name} ${p.source}: the same answer as the first server's`);
    }
    tails.push(first ?? '');
  }
  return tails;
}

/** POST a body with extra headers (sendHttps sets only the content type). */
function postWithHeaders(port: number, ca: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolvePost, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/inject', method: 'POST', ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePost({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The ceiling must give, byte for byte, the answers pillion gave (its uid spliced in). */
async function verifyCeiling(ceiling: RunningServer, prepared: Prepared, tails: readonly string[], ca: string): Promise<void> {
  for (const [i, b] of prepared.bodies.entries()) {
    const answer = await postWithHeaders(ceiling.port, ca, readFileSync(b.file), { 'x-bench-body': String(i) });
    assert.equal(answer.status, 200, `ceiling, body ${i}: status`);
    readAnswer(answer.body, capturedUid);
    assert.equal(answerTail(answer.body), tails[i], `ceiling, body ${i}: pillion's answer`);
  }
}

interface SubjectSummary {
  readonly name: string;
  readonly rps: Range;
  readonly ofCeiling: Range;
  readonly cpuUsPerReview: Range;
  readonly cpuOfCeiling: Range;
  readonly otherThreadsCpuUsPerReview: number;
  readonly peakServerP50AtMostMs: number;
  readonly peakServerP99AtMostMs: number;
  readonly halfRate: number;
  readonly halfServerP50AtMostMs: number;
  readonly halfServerP99AtMostMs: Range;
  readonly halfClientP99Ms: number;
  readonly idleRssMiB: number;
  readonly peakRssMiB: number;
  readonly rounds: { readonly warmUp: Phase; readonly peak: Phase[]; readonly half: Phase[] };
}

interface Range {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

const range = (xs: readonly number[]): Range => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

/**
 * Every server runs at once (idle unless loaded) and the phases interleave round by round, so a
 * slow spell of this shared machine hits all of them alike; each ratio is taken within its round.
 */
async function measure(subjects: readonly Subject[], prepared: Prepared, ca: string): Promise<SubjectSummary[]> {
  const warmUps: Phase[] = [];
  for (const s of subjects) {
    log(`${s.name}: warm-up`);
    warmUps.push(await runLoad(s, prepared.bodies, ca, 3000));
  }
  const peaks: Phase[][] = subjects.map(() => []);
  for (let round = 1; round <= rounds; round++) {
    // Rotate the order, so no server always runs right after the same one.
    for (let k = 0; k < subjects.length; k++) {
      const i = (k + round) % subjects.length;
      const s = subjects[i] as Subject;
      log(`round ${round}/${rounds} ${s.name}: peak, ${connections} keep-alive connections, ${seconds}s`);
      peaks[i]?.push(await runLoad(s, prepared.bodies, ca, seconds * 1000));
    }
  }
  const halves: Phase[][] = subjects.map(() => []);
  const halfRates = peaks.map((p) => Math.floor(median(p.map((r) => r.rps)) / 2));
  for (let round = 1; round <= rounds; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const i = (k + round) % subjects.length;
      const s = subjects[i] as Subject;
      log(`round ${round}/${rounds} ${s.name}: half peak, ${halfRates[i]}/s open loop, ${seconds}s`);
      halves[i]?.push(await runLoad(s, prepared.bodies, ca, seconds * 1000, halfRates[i]));
    }
  }
  const ceilingPeaks = peaks[0] ?? [];
  return subjects.map((s, i): SubjectSummary => {
    const own = peaks[i] ?? [];
    const half = halves[i] ?? [];
    const mid = (xs: Phase[], key: (p: Phase) => number): number => median(xs.map(key));
    return {
      name: s.name,
      rps: range(own.map((r) => r.rps)),
      ofCeiling: range(own.map((r, round) => r.rps / (ceilingPeaks[round]?.rps ?? Number.NaN))),
      cpuUsPerReview: range(own.map((r) => r.cpuUsPerReview)),
      cpuOfCeiling: range(own.map((r, round) => r.cpuUsPerReview / (ceilingPeaks[round]?.cpuUsPerReview ?? Number.NaN))),
      otherThreadsCpuUsPerReview: mid(own, (r) => r.otherThreadsCpuUsPerReview),
      peakServerP50AtMostMs: mid(own, (r) => r.serverP50AtMostMs),
      peakServerP99AtMostMs: mid(own, (r) => r.serverP99AtMostMs),
      halfRate: halfRates[i] ?? Number.NaN,
      halfServerP50AtMostMs: mid(half, (r) => r.serverP50AtMostMs),
      halfServerP99AtMostMs: range(half.map((r) => r.serverP99AtMostMs)),
      halfClientP99Ms: mid(half, (r) => r.p99Ms),
      idleRssMiB: s.server.idleRssBytes / 2 ** 20,
      peakRssMiB: procStatus(s.server.pid).hwm / 2 ** 20,
      rounds: { warmUp: warmUps[i] as Phase, peak: own, half },
    };
  });
}

// ---- main ----

const work = mkdtempSync(join(tmpdir(), `pillion-bench-${process.pid}-`));
const servers: RunningServer[] = [];
// Interrupted: no server or load generator outlives the bench (they read their parent's pipes).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const server of servers) server.kill();
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  // A copy of the templates: an edit of the working tree during the run must not reload them.
  const templatesDir = join(work, 'templates');
  cpSync(bundledTemplatesDir, templatesDir, { recursive: true });
  const prepared = prepareBodies(work, templatesDir);
  const generated = await generateSelfSignedCertificates({ service: 'localhost', namespace: 'bench' });
  const certFile = join(work, 'tls.crt');
  const keyFile = join(work, 'tls.key');
  writeFileSync(certFile, generated.certPem);
  writeFileSync(keyFile, generated.keyPem);
  const ca = generated.caPem;
  const base = { certFile, keyFile, templatesDir };

  const pillionSpecs: { name: string; kind: 'repeats' | 'unseen'; distRoot?: string }[] = workloads.flatMap((kind) => [
    { name: `pillion, ${kind}`, kind },
    ...(baselineDist === undefined ? [] : [{ name: `baseline, ${kind}`, kind, distRoot: baselineDist }]),
  ]);
  const pillions: Subject[] = [];
  for (const spec of pillionSpecs) {
    const server = await startServer(spec.name, { mode: 'pillion', ...base, ...(spec.distRoot === undefined ? {} : { distRoot: spec.distRoot }) });
    servers.push(server);
    pillions.push({ name: spec.name, kind: spec.kind, server, baseline: spec.distRoot !== undefined });
  }
  log(`verifying every pod's answer (${prepared.pods.length} pods) on ${pillions.length} pillion servers`);
  const tails = await verifyAnswers(pillions.map((s) => ({ server: s.server, baseline: s.baseline === true })), prepared, ca, templatesDir);
  const answersFile = join(work, 'answers.json');
  writeFileSync(answersFile, JSON.stringify(tails));
  const ceilingServer = await startServer('ceiling', { mode: 'ceiling', ...base, answersFile });
  servers.push(ceilingServer);
  await verifyCeiling(ceilingServer, prepared, tails, ca);
  const subjects: Subject[] = [{ name: 'ceiling', kind: 'ceiling', server: ceilingServer }, ...pillions];

  const summaries = await measure(subjects, prepared, ca);
  // Whole answer bodies: the envelope, the uid, the fields after it and the closing braces.
  const answerSizes = tails.map((t) => Buffer.byteLength(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"${capturedUid}",${t}}}`));

  // ---- report ----
  const byKind = new Map<string, number>();
  for (const p of prepared.pods) byKind.set(p.kind, (byKind.get(p.kind) ?? 0) + 1);
  const injected = prepared.bodies.filter((b) => b.expectPatch).length;
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
  const q = (xs: readonly number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN;
  const fmt = (r: Range, digits: number, unit = ''): string => `${r.median.toFixed(digits)}${unit} [${r.min.toFixed(digits)}–${r.max.toFixed(digits)}]`;
  const pct = (r: Range): string => `${(r.median * 100).toFixed(0)}% [${(r.min * 100).toFixed(0)}–${(r.max * 100).toFixed(0)}]`;
  const lines = [
    `webhook-load: ${prepared.pods.length} real pods (${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')}; ${injected} injected, ${prepared.pods.length - injected} skipped)`,
    `  review bodies: min ${kb(Math.min(...prepared.sizes))}, median ${kb(median(prepared.sizes))}, p90 ${kb(q(prepared.sizes, 0.9))}, max ${kb(Math.max(...prepared.sizes))}; ` +
      `answers: min ${kb(Math.min(...answerSizes))}, median ${kb(median(answerSizes))}, max ${kb(Math.max(...answerSizes))}`,
    `  ${connections} keep-alive TLS connections; ${rounds} interleaved rounds of ${seconds}s per phase; medians [min–max over rounds]; ${cpus().length} CPUs shared by servers and load generator${nice === undefined ? '' : `; nice ${nice}`}; pillion servers run with Node flags: ${pillionFlags.length === 0 ? 'none' : pillionFlags.join(' ')}`,
    '',
    `${'server'.padEnd(18)} ${'reviews/s'.padEnd(22)} ${'of ceiling'.padEnd(16)} ${'CPU µs/review'.padEnd(20)} ${'not JS'.padEnd(6)} ${'CPU × ceil'.padEnd(18)} ${'srv p50/p99 ms'.padEnd(15)} ${'½: rate, srv p50/p99 ms'.padEnd(30)} ${'RSS idle/peak MiB'}`,
    ...summaries.map((s) => [
      s.name.padEnd(18),
      fmt(s.rps, 0).padEnd(22),
      pct(s.ofCeiling).padEnd(16),
      fmt(s.cpuUsPerReview, 0).padEnd(20),
      s.otherThreadsCpuUsPerReview.toFixed(0).padEnd(6),
      fmt(s.cpuOfCeiling, 2).padEnd(18),
      `≤${s.peakServerP50AtMostMs}/≤${s.peakServerP99AtMostMs}`.padEnd(15),
      `${s.halfRate}/s ≤${s.halfServerP50AtMostMs}/≤${s.halfServerP99AtMostMs.median} [${s.halfServerP99AtMostMs.min}–${s.halfServerP99AtMostMs.max}]`.padEnd(30),
      `${s.idleRssMiB.toFixed(0)}/${s.peakRssMiB.toFixed(0)}`,
    ].join(' ')),
    '(srv: server side, the upper bound of the histogram bucket holding the quantile; ½: open loop at half the median peak rate; CPU: the server process, user + system, all threads, from /proc; not JS: the part on threads other than the main one: the helpers of the garbage collector and, while code is still warming up, the optimizing compiler)',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  const results = {
    benchmark: 'webhook-load',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    connections,
    secondsPerPhase: seconds,
    rounds,
    decisionCache: process.env.BENCH_DECISION_CACHE ?? 'default',
    baselineDist: baselineDist ?? null,
    pillionNodeFlags: pillionFlags,
    pods: prepared.pods.map((p, i) => ({ source: p.source, namespace: p.namespace, bytes: prepared.sizes[i], answerBytes: answerSizes[i], injected: prepared.bodies[i]?.expectPatch })),
    summaries,
  };
  mkdirSync(repoPath('bench', 'results'), { recursive: true });
  writeFileSync(repoPath('bench', 'results', 'webhook-load.json'), JSON.stringify(results, null, 2) + '\n');
  log('wrote bench/results/webhook-load.json');
} finally {
  for (const server of servers) {
    await Promise.race([server.stop(), new Promise((r) => setTimeout(r, 5000))]);
    server.kill();
  }
  rmSync(work, { recursive: true, force: true });
}
