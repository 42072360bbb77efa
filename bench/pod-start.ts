// Benchmark: what injection costs a pod's start on a real node. The harness's node
// (e2e/support/node.ts) runs Pillion as deployed, first in init mode (deploy/self-signed, webhook
// in-cluster), then in CNI mode (plus deploy/cni/component's node agent); in each, the same app
// pod is created again and again, alternately plain and injected (haproxy template, native
// sidecar on this 1.37 node), one at a time, and each is timed from the moment `kubectl
// create` is started until a watch on the API server reports the pod Ready. The app has an HTTP
// readiness probe, as real apps do, so both arms wait for the app to answer. The first round is a
// warm-up (image unpacking) and is not counted. Medians with their range; ratio and difference;
// then each step of the start (sandbox, capture init container, proxy, app, Ready), as the
// runtime's own timestamps (crictl) place them, medians per arm.
// Run as root after `npm test` built the peers: `node dist/bench/pod-start.js [pods per arm]`.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { repoPath } from '../test/support/paths.js';
import { startNode, type RealNode } from '../e2e/support/node.js';
import { findNodePeers, sandboxImage } from '../e2e/support/node-peers.js';
import { deployPillion, writeCniOverlay, type CaptureMode } from '../e2e/cluster/mesh-suite.js';
import { median } from './stats.js';

const perArm = Number(process.argv[2] ?? '10');
const namespace = 'pod-start';

function pod(name: string, injected: boolean): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, annotations: injected ? { 'pillion.dev/inject': 'enabled', 'pillion.dev/templates': 'haproxy' } : {} },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{
        // An HTTP server and an HTTP readiness probe, as most real apps have. Not a TCP probe: in
        // an injected pod the kubelet's connection to a captured port is redirected to the proxy,
        // which accepts it whether or not the app listens, so a TCP probe there passes as soon as
        // the proxy is up and the injected arm would look ready early. An HTTP probe needs the
        // app's answer, through the proxy or not.
        name: 'app', image: 'pillion.test/echo:1', imagePullPolicy: 'Never',
        command: ['python3', '-m', 'http.server', '8080'],
        readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
      }],
    },
  });
}

/** The steps of one pod's start, in ms, each from the end of the one before; the last ends at Ready. */
type Steps = Record<string, number>;

interface PhaseSamples {
  readonly plain: number[];
  readonly injected: number[];
  readonly steps: Record<'plain' | 'injected', Steps[]>;
  /** Per pod: the readiness probes that failed before it was Ready, with the first failure's words. */
  readonly probeFailures: Record<'plain' | 'injected', { count: number; first?: string }[]>;
}

/** The kubelet's Unhealthy events on one pod's app container: how many probes failed, and what the first said. */
function probeFailures(node: RealNode, name: string): { count: number; first?: string } {
  const selector = `involvedObject.name=${name},involvedObject.fieldPath=spec.containers{app},reason=Unhealthy`;
  const events = (JSON.parse(node.cp.kubectlOk(['get', 'events', '-n', namespace, '--field-selector', selector, '--sort-by=.firstTimestamp', '-o', 'json'])) as
    { items: { count?: number; message?: string; series?: { count?: number } }[] }).items;
  const count = events.reduce((sum, e) => sum + (e.series?.count ?? e.count ?? 1), 0);
  return { count, ...(events[0]?.message === undefined ? {} : { first: events[0].message }) };
}

/** Wall-clock milliseconds of an RFC 3339 time the runtime reports (nanoseconds cut to ms). */
function wallMs(time: string): number {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${time}`);
  return ms;
}

/**
 * Where one pod's start went, from the runtime's own timestamps (crictl): its sandbox, the capture
 * init container's run (pillion-init; pillion-validation in CNI mode when the proxy's hook cannot
 * check capture itself), the gap until the proxy started (the kubelet noticing the init
 * container's exit), the proxy's start until the app's (its postStart hold hook, then the
 * kubelet's next sync), and the app's start until the watch saw Ready.
 */
function podSteps(node: RealNode, name: string, createdAt: number, readyAt: number): Steps {
  const json = (args: readonly string[]): unknown => {
    const r = node.crictl(args);
    if (r.status !== 0) throw new Error(`crictl ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as unknown;
  };
  const sandboxes = (json(['pods', '--name', `^${name}$`, '--namespace', namespace, '-o', 'json']) as { items: { id: string; createdAt: string }[] }).items;
  const sandbox = sandboxes[0];
  if (sandboxes.length !== 1 || sandbox === undefined) throw new Error(`${name}: ${sandboxes.length} sandboxes`);
  const containers = (json(['ps', '-a', '--pod', sandbox.id, '-o', 'json']) as { containers: { id: string; metadata: { name: string } }[] }).containers;
  const times = new Map<string, { started: number; finished: number | undefined }>();
  for (const c of containers) {
    const { status } = json(['inspect', '-o', 'json', c.id]) as { status: { startedAt: string; finishedAt: string } };
    // A container still running reports the zero time as finishedAt.
    const finished = status.finishedAt.startsWith('0001-') ? undefined : wallMs(status.finishedAt);
    times.set(c.metadata.name, { started: wallMs(status.startedAt), finished });
  }
  const at = (container: string, which: 'started' | 'finished'): number => {
    const t = times.get(container)?.[which];
    if (t === undefined) throw new Error(`${name}: no ${which} time for container ${container}`);
    return t;
  };
  // The sandbox's createdAt is nanoseconds since the epoch, as a string.
  const sandboxAt = Number(BigInt(sandbox.createdAt) / 1_000_000n);
  const marks: [string, number][] = [['create → sandbox', sandboxAt]];
  const capture = ['pillion-init', 'pillion-validation'].find((c) => times.has(c));
  if (capture !== undefined) {
    marks.push(['sandbox → init start', at(capture, 'started')], ['init runs', at(capture, 'finished')], ['init exit → proxy start', at('pillion-proxy', 'started')]);
  } else if (times.has('pillion-proxy')) {
    marks.push(['sandbox → proxy start', at('pillion-proxy', 'started')]);
  }
  marks.push([times.has('pillion-proxy') ? 'proxy start → app start' : 'sandbox → app start', at('app', 'started')], ['app start → Ready', readyAt]);
  const steps: Steps = {};
  let before = createdAt;
  for (const [step, time] of marks) {
    steps[step] = time - before;
    before = time;
  }
  return steps;
}

/** One phase: Pillion deployed in `mode`, then plain and injected pods alternately, `perArm` of each. */
async function measurePhase(node: RealNode, mode: CaptureMode, deploy: string, waitReady: (name: string) => Promise<number>): Promise<PhaseSamples> {
  await deployPillion(node.cp, { captureMode: mode, deploy });
  const samples: PhaseSamples = { plain: [], injected: [], steps: { plain: [], injected: [] }, probeFailures: { plain: [], injected: [] } };
  for (let round = 0; round <= perArm; round++) {
    // Alternate which arm goes first, so neither always follows the other's clean-up.
    const arms = round % 2 === 0 ? (['plain', 'injected'] as const) : (['injected', 'plain'] as const);
    for (const arm of arms) {
      const name = `${mode}-${arm}-${round}`;
      const ready = waitReady(name);
      const start = performance.now();
      // The same instant on the wall clock, which the runtime's timestamps are on.
      const startWall = Date.now();
      node.cp.kubectlOk(['create', '-f', '-'], { input: pod(name, arm === 'injected') });
      const readyAt = await ready;
      if (round > 0) {
        samples[arm].push(readyAt - start);
        samples.steps[arm].push(podSteps(node, name, startWall, startWall + (readyAt - start)));
        samples.probeFailures[arm].push(probeFailures(node, name));
      }
      node.cp.kubectlOk(['delete', 'pod', name, '-n', namespace, '--wait=true']);
    }
    process.stderr.write(`${mode} mode: round ${round}/${perArm} done\n`);
  }
  return samples;
}

/** Each step's median over the pods of an arm (every pod of an arm has the same steps). */
function medianSteps(all: readonly Steps[]): Record<string, number> {
  const names = Object.keys(all[0] ?? {});
  return Object.fromEntries(names.map((step) => [step, Math.round(median(all.map((s) => s[step] ?? Number.NaN)))]));
}

function summarize(xs: number[]): { medianMs: number; minMs: number; maxMs: number; samples: number[] } {
  return { medianMs: Math.round(median(xs)), minMs: Math.round(Math.min(...xs)), maxMs: Math.round(Math.max(...xs)), samples: xs.map(Math.round) };
}

async function main(): Promise<void> {
  if (!Number.isInteger(perArm) || perArm < 3) throw new Error('usage: pod-start.js [pods per arm, at least 3]');
  const peers = findNodePeers();
  if (typeof peers === 'string') throw new Error(peers);
  const node = await startNode(peers.bins, { images: [...peers.images.values()], sandboxImage });
  const cniOverlay = writeCniOverlay({ paths: { netDir: node.cniConfDir, binDir: node.cniBinDir } });
  const watcher = spawn('ip', ['netns', 'exec', node.ns, peers.bins.kubectl, '--kubeconfig', node.cp.adminKubeconfig, 'get', 'pods', '-n', namespace,
    '--watch', '-o', 'jsonpath={.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    node.cp.kubectlOk(['create', 'namespace', namespace]);
    await new Promise((r) => setTimeout(r, 1000));
    const readyAt = new Map<string, number>();
    const waiting = new Map<string, (at: number) => void>();
    createInterface({ input: watcher.stdout }).on('line', (line) => {
      const [name, ready] = line.trim().split(' ');
      if (name === undefined || ready !== 'True' || readyAt.has(name)) return;
      readyAt.set(name, performance.now());
      waiting.get(name)?.(readyAt.get(name)!);
    });
    const waitReady = (name: string): Promise<number> => new Promise<number>((resolve, reject) => {
      waiting.set(name, resolve);
      setTimeout(() => reject(new Error(`${name} not Ready within 120 s`)), 120_000).unref();
    });

    // Init mode first (deploy/self-signed), then the same node switched to CNI mode (the node
    // agent installs pillion-cni; injected pods carry no init container: the proxy's hook checks capture).
    const phases = {
      init: await measurePhase(node, 'init', repoPath('deploy', 'self-signed'), waitReady),
      cni: await measurePhase(node, 'cni', cniOverlay, waitReady),
    };
    const result = {
      perArm,
      ...Object.fromEntries(Object.entries(phases).map(([mode, samples]) => {
        const plain = summarize(samples.plain);
        const injected = summarize(samples.injected);
        const steps = { plain: medianSteps(samples.steps.plain), injected: medianSteps(samples.steps.injected) };
        return [mode, { plain, injected, ratio: injected.medianMs / plain.medianMs, differenceMs: injected.medianMs - plain.medianMs, steps, stepSamples: samples.steps, probeFailures: samples.probeFailures }];
      })),
    } as { perArm: number } & Record<CaptureMode, {
      plain: ReturnType<typeof summarize>; injected: ReturnType<typeof summarize>; ratio: number; differenceMs: number;
      steps: Record<'plain' | 'injected', Record<string, number>>;
    }>;
    process.stdout.write('| capture mode | pod | creation → Ready, median | range |\n|---|---|---|---|\n');
    for (const mode of ['init', 'cni'] as const) {
      for (const arm of ['plain', 'injected'] as const) {
        const s = result[mode][arm];
        process.stdout.write(`| ${mode} | ${arm} | ${s.medianMs} ms | ${s.minMs}–${s.maxMs} ms |\n`);
      }
    }
    for (const mode of ['init', 'cni'] as const) {
      process.stdout.write(`${mode} mode: injected / plain ${result[mode].ratio.toFixed(2)}×, ${result[mode].differenceMs >= 0 ? '+' : ''}${result[mode].differenceMs} ms (${perArm} pods each)\n`);
    }
    // Medians of each step (so they need not add up to the median of the whole).
    process.stdout.write('\nsteps (runtime timestamps, medians, ms):\n');
    for (const mode of ['init', 'cni'] as const) {
      for (const arm of ['plain', 'injected'] as const) {
        const steps = Object.entries(result[mode].steps[arm]).map(([step, ms]) => `${step} ${ms}`).join(', ');
        process.stdout.write(`  ${mode} ${arm}: ${steps}\n`);
      }
    }
    // A pod whose app's first readiness probe came before it listened waits a whole probe period.
    process.stdout.write('\nthe app\'s readiness probes failed before Ready (kubelet Unhealthy events):\n');
    for (const mode of ['init', 'cni'] as const) {
      for (const arm of ['plain', 'injected'] as const) {
        const failures = phases[mode].probeFailures[arm];
        const failed = failures.filter((f) => f.count > 0);
        const said = failed[0]?.first === undefined ? '' : `; first: ${failed[0].first.replace(/\s+/g, ' ').slice(0, 160)}`;
        process.stdout.write(`  ${mode} ${arm}: ${failed.length} of ${failures.length} pods${said}\n`);
      }
    }
    const outDir = repoPath('bench', 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'pod-start.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    watcher.kill();
    await node.stop();
    rmSync(cniOverlay, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`pod-start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
