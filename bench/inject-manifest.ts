// Benchmark: `pillion inject`'s document pipeline on a generated 10,000-document manifest
// (Deployments and Services), against the yaml library alone parsing and re-serialising the same
// text (parseAllDocuments + toString) — the floor any YAML-preserving tool pays. Reported as
// ratios measured in this run; no absolute thresholds. Table on stdout, JSON in bench/results/.
//
//   node dist/bench/inject-manifest.js [--documents N] [--runs R]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseAllDocuments } from 'yaml';
import { injectManifests } from '../injector/cli/inject-manifest.js';
import { buildSetup } from '../injector/cli/setup.js';
import { injectPod } from '../injector/core/inject.js';
import { repoPath, repoRoot } from '../test/support/paths.js';
import { pillionProgram } from './startup-runs.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive integer`);
  return value;
}

function generateManifest(documents: number): string {
  const parts: string[] = [];
  for (let i = 0; i < documents; i++) {
    const name = `app-${Math.floor(i / 2)}`;
    if (i % 2 === 0) {
      parts.push(
        `# deployment ${i}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  labels:\n    app: ${name}\n` +
          `spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n` +
          `    spec:\n      containers:\n      - name: app\n        image: registry.example/${name}:1.0  # pinned\n        ports:\n        - containerPort: 8080\n          name: http\n`,
      );
    } else {
      parts.push(`apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    app: ${name}\n  ports:\n  - name: http\n    port: 80\n    targetPort: http\n`);
    }
  }
  return parts.join('---\n');
}

function timeIt(runs: number, fn: () => void): number {
  fn(); // warm-up: JIT and template caches
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? 0;
}

const documents = flag('--documents', 10_000);
const runs = flag('--runs', 3);
const text = generateManifest(documents);
const setup = buildSetup({ templatesDir: undefined, valuesFile: undefined, configFile: undefined, kubeVersion: undefined });
const inject = (pod: Parameters<typeof injectPod>[0], ctx: Parameters<typeof injectPod>[1]) => injectPod(pod, ctx, setup);

let injectedCount = 0;
const baselineMs = timeIt(runs, () => {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== documents) throw new Error('baseline parsed the wrong number of documents');
  docs.map((d) => d.toString()).join('---\n');
});
const pipelineMs = timeIt(runs, () => {
  const result = injectManifests([{ file: 'bench.yaml', text }], { mode: 'candidate', namespace: undefined, output: 'yaml' }, inject);
  if (!result.ok) throw new Error(`pipeline failed: ${JSON.stringify(result.problems.slice(0, 3))}`);
  injectedCount = result.reports.filter((r) => r.decision === 'injected').length;
});
if (injectedCount !== documents / 2) throw new Error(`expected ${documents / 2} injected workloads, got ${injectedCount}`);

// Once through the real CLI process: file read, module loading, output writing included.
const dir = mkdtempSync(join(tmpdir(), `pillion-bench-${process.pid}-`));
let cliMs: number;
try {
  const file = join(dir, 'manifest.yaml');
  writeFileSync(file, text);
  const start = performance.now();
  const run = spawnSync(process.execPath, [pillionProgram(repoRoot, 'pillion'), 'inject', '-f', file], { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
  cliMs = performance.now() - start;
  if (run.status !== 0) throw new Error(`pillion inject exited ${run.status}: ${run.stderr.slice(0, 500)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const rows = [
  { name: 'yaml parseAllDocuments + toString (baseline)', ms: baselineMs },
  { name: 'pillion inject pipeline (in-process)', ms: pipelineMs },
  { name: 'pillion inject CLI process (one run)', ms: cliMs },
];
console.log(`documents: ${documents} (${documents / 2} Deployments injected, ${documents / 2} Services passed through), ${(text.length / 1e6).toFixed(1)} MB, median of ${runs}`);
console.log(`${'measurement'.padEnd(48)} ${'ms'.padStart(10)} ${'× baseline'.padStart(11)}`);
for (const row of rows) console.log(`${row.name.padEnd(48)} ${row.ms.toFixed(1).padStart(10)} ${(row.ms / baselineMs).toFixed(2).padStart(11)}`);

const resultsDir = repoPath('bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const out = join(resultsDir, 'inject-manifest.json');
writeFileSync(
  out,
  `${JSON.stringify(
    {
      benchmark: 'inject-manifest',
      date: new Date().toISOString(),
      node: process.version,
      documents,
      bytes: text.length,
      runs,
      results: rows.map((r) => ({ name: r.name, ms: Number(r.ms.toFixed(2)), ratioToBaseline: Number((r.ms / baselineMs).toFixed(3)) })),
    },
    null,
    2,
  )}\n`,
);
console.error(`results written to ${out}`);
