// Benchmark: per-pod injection time for large pods, against a same-run baseline of
// structuredClone + JSON.stringify of the same pod (the least any copy-and-serialise path costs).
// Prints a table on stdout and writes JSON to bench/results/inject-pod.json. No thresholds:
// the ratio is what to watch across changes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { defaultInjectorConfig } from '../injector/core/config.js';
import { injectPod } from '../injector/core/inject.js';
import { loadTemplates } from '../injector/core/templates.js';
import type { JsonObject } from '../injector/core/types.js';

const runs = Number(process.env.BENCH_RUNS ?? 200);
const setup = { config: defaultInjectorConfig, templates: loadTemplates() };
const ctx = { mode: 'candidate', namespace: 'bench', namespaceLabels: undefined } as const;

function envPod(count: number): JsonObject {
  const env = Array.from({ length: count }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}` }));
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'env', namespace: 'bench' }, spec: { containers: [{ name: 'app', image: 'nginx', env }] } };
}

function sizedPod(bytes: number): JsonObject {
  const annotations: Record<string, string> = {};
  const containers = Array.from({ length: 8 }, (_, i) => ({ name: `c${i}`, image: 'nginx', env: [] as { name: string; value: string }[] }));
  let i = 0;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big', namespace: 'bench', annotations }, spec: { containers } };
  while (JSON.stringify(pod).length < bytes) {
    containers[i % 8]?.env.push({ name: `E${i}`, value: 'x'.repeat(40) });
    if (i % 10 === 0) annotations[`example.com/a${i}`] = 'y'.repeat(60);
    i++;
  }
  return pod;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function measure(fn: () => unknown): number {
  for (let i = 0; i < 20; i++) fn(); // warm-up: let the JIT settle before timing
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

const pods: [string, JsonObject][] = [
  ['1,500 env vars', envPod(1500)],
  ['64 KB pod', sizedPod(64 * 1024)],
  ['small pod', envPod(2)],
];
const rows = pods.map(([name, pod]) => {
  const bytes = JSON.stringify(pod).length;
  const inject = measure(() => injectPod(pod, ctx, setup));
  const baseline = measure(() => JSON.stringify(structuredClone(pod)));
  return { pod: name, bytes, injectMs: inject, baselineMs: baseline, ratio: inject / baseline };
});

console.log(`injectPod, median of ${runs} runs (baseline: structuredClone + JSON.stringify of the same pod)`);
console.log(`${'pod'.padEnd(16)}${'bytes'.padStart(9)}${'inject ms'.padStart(12)}${'baseline ms'.padStart(14)}${'ratio'.padStart(8)}`);
for (const r of rows) {
  console.log(`${r.pod.padEnd(16)}${String(r.bytes).padStart(9)}${r.injectMs.toFixed(3).padStart(12)}${r.baselineMs.toFixed(3).padStart(14)}${r.ratio.toFixed(2).padStart(8)}`);
}
mkdirSync(new URL('results/', import.meta.url.replace('/dist/bench/', '/bench/')), { recursive: true });
const out = new URL('results/inject-pod.json', import.meta.url.replace('/dist/bench/', '/bench/'));
writeFileSync(out, `${JSON.stringify({ node: process.version, runs, date: new Date().toISOString(), rows }, null, 2)}\n`);
console.error(`wrote ${out.pathname}`);
