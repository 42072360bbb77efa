// Benchmark: what injection costs a pod's start on a real node. The harness's node
// (e2e/support/node.ts) runs Pillion as deployed, first in init mode (deploy/self-signed, webhook
// in-cluster), then in CNI mode (plus deploy/cni/component's node agent); in each, the same app
// pod is created again and again, alternately plain and injected (haproxy template, native
// sidecar on this 1.37 node), one at a time, and each is timed from the moment `kubectl
// create` is started until a watch on the API server reports the pod Ready. The app has a TCP
// readiness probe, as real apps do, so both arms wait for the app to answer. The first round is a
// warm-up (image unpacking) and is not counted. Medians with their range; ratio and difference.
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
        name: 'app', image: 'pillion.test/echo:1', imagePullPolicy: 'Never',
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      }],
    },
  });
}

/** One phase: Pillion deployed in `mode`, then plain and injected pods alternately, `perArm` of each. */
async function measurePhase(node: RealNode, mode: CaptureMode, deploy: string, waitReady: (name: string) => Promise<number>): Promise<Record<'plain' | 'injected', number[]>> {
  await deployPillion(node.cp, { captureMode: mode, deploy });
  const samples = { plain: [] as number[], injected: [] as number[] };
  for (let round = 0; round <= perArm; round++) {
    // Alternate which arm goes first, so neither always follows the other's clean-up.
    const arms = round % 2 === 0 ? (['plain', 'injected'] as const) : (['injected', 'plain'] as const);
    for (const arm of arms) {
      const name = `${mode}-${arm}-${round}`;
      const ready = waitReady(name);
      const start = performance.now();
      node.cp.kubectlOk(['create', '-f', '-'], { input: pod(name, arm === 'injected') });
      const readyAt = await ready;
      if (round > 0) samples[arm].push(readyAt - start);
      node.cp.kubectlOk(['delete', 'pod', name, '-n', namespace, '--wait=true']);
    }
    process.stderr.write(`${mode} mode: round ${round}/${perArm} done\n`);
  }
  return samples;
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
    // agent installs pillion-cni; injected pods carry pillion-validation instead of pillion-init).
    const phases = {
      init: await measurePhase(node, 'init', repoPath('deploy', 'self-signed'), waitReady),
      cni: await measurePhase(node, 'cni', cniOverlay, waitReady),
    };
    const result = {
      perArm,
      ...Object.fromEntries(Object.entries(phases).map(([mode, samples]) => {
        const plain = summarize(samples.plain);
        const injected = summarize(samples.injected);
        return [mode, { plain, injected, ratio: injected.medianMs / plain.medianMs, differenceMs: injected.medianMs - plain.medianMs }];
      })),
    } as { perArm: number } & Record<CaptureMode, { plain: ReturnType<typeof summarize>; injected: ReturnType<typeof summarize>; ratio: number; differenceMs: number }>;
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
