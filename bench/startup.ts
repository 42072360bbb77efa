// Benchmark: what users wait for, whole processes with start-up included, against Istio's own
// programs built from source on this machine (bench-only peers, scripts/get-istio.sh):
//   capture apply  `pillion-init apply` vs `pilot-agent istio-iptables` (Istio's istio-init
//                  arguments, dual-stack), fresh network namespace per run, for the auto-detected
//                  backend and for legacy and nft forced; iptables-restore alone of the same text
//                  as the floor
//   inject         `pillion inject -f` vs `istioctl kube-inject -f` on bookinfo, one Deployment
//                  with 1,500 env vars, 200 × bookinfo, and its 1,200 Deployments as
//                  `kubectl get deployments -A -o json` prints them (a JSON List)
//   start-up       `node -e 0` beside `pilot-agent version` and `istioctl version --remote=false`
// Pillion's contestants are what ships (pillionProgram): the launchers `npm run build` writes
// (dist/bundle/, package.json's bin and the init image's entrypoint), pillion-init with its compile
// cache written by a dry run as the image's is, pillion with Node's default cache folder, written by
// the warm-up round as by a user's first run. A checkout from before the bundles runs its dist/.
// Each row's contestants run in paired, interleaved rounds (bench/startup-runs.ts); the table
// gives medians with [min–max] and the ratio of medians with the 25th–75th percentile of the
// per-round ratios, all from this one run. Table on stdout, progress on stderr, JSON in
// bench/results/. Run as root (network namespaces):
//
//   node dist/bench/startup.js [--rounds N] [--big-rounds N] [--only capture,inject,startup]
//                              [--pillion DIR]   (a checkout with dist/ built; default this one)
//                              [--pillion-rev TEXT] (what to call it when DIR is no git checkout)
//                              [--node PATH]     (the Node that runs Pillion; default this one)
//                              [--with-apiserver] (one more row: bookinfo with istioctl reaching
//                                                 the kube-apiserver peer, as with a cluster)
//                              [--baseline DIR] [--baseline-rev TEXT]
//                                                (capture and inject rows: another checkout's
//                                                 pillion-init and pillion, e.g. before a change,
//                                                 in the same rounds; a second table compares)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findIstio, injectFiles } from './peers/istio.js';
import { writeWorkloads } from './peers/workloads.js';
import { captureCommands, captureRow, cleanupRow, deleteAllNamespaces, removeStaleNamespaces, type CaptureBackend } from './startup-capture.js';
import { injectRow } from './startup-inject.js';
import { pairedRuns, ratio, type Contestant, type Summary } from './startup-runs.js';
import { repoPath } from '../test/support/paths.js';
import { builtPeer } from '../test/support/peers.js';

const log = (line: string): void => {
  process.stderr.write(`startup: ${line}\n`);
};

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function count(name: string, fallback: number): number {
  const v = Number(option(name) ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive integer`);
  return v;
}

const rounds = count('--rounds', 15);
const bigRounds = count('--big-rounds', 5);
const only = new Set((option('--only') ?? 'startup,capture,inject').split(','));
const pillionRoot = resolve(option('--pillion') ?? repoPath());
// The Node that runs Pillion's processes (--node: e.g. a newer one to compare); default this one.
const nodeBin = resolve(option('--node') ?? process.execPath);
const baselineOption = option('--baseline');
const baselineRoot = baselineOption === undefined ? undefined : resolve(baselineOption);

interface RowResult {
  key: string;
  label: string;
  commands: Record<string, string>;
  summaries: Summary[];
  pairs: number[][];
  ratio?: { ofMedians: number; p25: number; p75: number };
  /** With --baseline: this Pillion against the baseline's, and the baseline's against Istio. */
  baseline?: { afterVsBefore: RowResult['ratio']; beforeVsIstio: RowResult['ratio'] };
  extra?: unknown;
}

const s = (ms: number): string => (ms >= 100 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const cell = (x: Summary | undefined): string => (x === undefined ? '–' : `${s(x.medianMs)} [${s(x.minMs)}–${s(x.maxMs)}]`);
function ratioCell(r: RowResult['ratio']): string {
  if (r === undefined) return '–';
  // Both the ratio and its paired range in the same direction: "N× slower" or "N× faster".
  if (r.ofMedians >= 1) return `${r.ofMedians.toFixed(2)}× slower (paired ${r.p25.toFixed(2)}–${r.p75.toFixed(2)})`;
  return `${(1 / r.ofMedians).toFixed(2)}× faster (paired ${(1 / r.p75).toFixed(2)}–${(1 / r.p25).toFixed(2)})`;
}

function run(key: string, label: string, contestants: Contestant<unknown>[], n: number, sink: string, commands: Record<string, string>): RowResult {
  log(`${label}: ${n} paired rounds of ${contestants.map((c) => c.name).join(', ')}`);
  const { summaries, pairs } = pairedRuns(contestants, n, sink);
  const result: RowResult = { key, label, commands, summaries, pairs };
  const a = contestants.findIndex((c) => c.name === 'pillion');
  const b = contestants.findIndex((c) => c.name === 'istio');
  const before = contestants.findIndex((c) => c.name === 'pillion-before');
  if (a >= 0 && b >= 0) result.ratio = ratio(pairs, a, b);
  if (before >= 0 && a >= 0 && b >= 0) result.baseline = { afterVsBefore: ratio(pairs, a, before), beforeVsIstio: ratio(pairs, before, b) };
  log(`  ${summaries.map((x) => `${x.name} ${s(x.medianMs)}`).join(', ')}${result.ratio ? `; ${ratioCell(result.ratio)}` : ''}`);
  return result;
}

/** The commit of the Pillion being measured: --pillion-rev, else the checkout's HEAD when DIR is a checkout's top. */
function pillionRevision(dir: string, given: string | undefined): string {
  if (given !== undefined) return given;
  const top = spawnSync('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { encoding: 'utf8' });
  if (top.status !== 0 || resolve(top.stdout.trim()) !== dir) return `unknown (${dir} is not a git checkout)`;
  const head = spawnSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  const dirty = spawnSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout.trim() !== '';
  return dirty ? `${head} with uncommitted changes` : head;
}

async function main(): Promise<void> {
  const istio = findIstio();
  if (typeof istio === 'string') throw new Error(istio);
  if (only.has('capture') && process.getuid?.() !== 0) throw new Error('the capture rows need root (network namespaces); run with --only inject,startup otherwise');
  const work = mkdtempSync(join(tmpdir(), 'pillion-bench-startup-'));
  const sink = join(work, 'output');
  const results: RowResult[] = [];
  const loadBefore = loadavg();
  try {
    if (only.has('startup')) {
      const noop = (name: string, argv: string[]): Contestant<unknown> => ({ name, prepare: () => undefined, argv: () => argv });
      results.push(run('startup', 'process start-up alone', [
        noop('node', [nodeBin, '-e', '0']),
        noop('pilot-agent', [istio.pilotAgent, 'version', '--short']),
        noop('istioctl', [istio.istioctl, 'version', '--remote=false', '--short']),
      ], rounds, sink, { node: 'node -e 0', 'pilot-agent': 'pilot-agent version --short', istioctl: 'istioctl version --remote=false --short' }));
    }
    if (only.has('capture')) {
      removeStaleNamespaces(log);
      for (const backend of ['auto', 'legacy', 'nft'] as CaptureBackend[]) {
        const row = captureRow(backend, nodeBin, pillionRoot, istio.pilotAgent, baselineRoot);
        try {
          const commands = { ...captureCommands(backend), floor: 'iptables-restore --noflush + ip6tables-restore --noflush of pillion-init --dry-run\'s text' };
          const result = run(row.key, row.label, row.contestants, rounds, sink, commands);
          result.extra = { rules: row.rules };
          results.push(result);
        } finally {
          cleanupRow(row);
          deleteAllNamespaces();
        }
      }
    }
    if (only.has('inject')) {
      const files = await injectFiles(istio, log);
      const workloads = writeWorkloads(join(work, 'manifests'));
      for (const w of workloads) {
        const row = injectRow(w, nodeBin, pillionRoot, istio.istioctl, files, sink, undefined, baselineRoot);
        const r = run(row.key, row.label, row.contestants, w.deployments > 100 ? bigRounds : rounds, sink, row.commands);
        r.extra = { bytes: w.bytes, documents: w.documents, deployments: w.deployments, injectFilesFrom: files.how };
        results.push(r);
      }
      const bookinfo = workloads[0];
      if (process.argv.includes('--with-apiserver') && bookinfo !== undefined) {
        // kube-inject as a user with a cluster runs it: no --revision, so it asks the API server.
        const apiserver = builtPeer('get-kube-apiserver.sh');
        if (apiserver === undefined) throw new Error('--with-apiserver needs the kube-apiserver peer (scripts/get-kube-apiserver.sh)');
        const { startControlPlane } = await import('../e2e/support/control-plane.js');
        const plane = await startControlPlane(apiserver, 'kubectl');
        try {
          const row = injectRow(bookinfo, nodeBin, pillionRoot, istio.istioctl, files, sink, plane.adminKubeconfig);
          const r = run(row.key, row.label, row.contestants, rounds, sink, row.commands);
          r.extra = { apiserver: plane.server };
          results.push(r);
        } finally {
          await plane.stop();
        }
      }
    }
  } finally {
    deleteAllNamespaces();
    rmSync(work, { recursive: true, force: true });
  }

  const lines = [
    `| what users wait for | Pillion | Istio | ratio (Pillion / Istio) | floor |`,
    `|---|---|---|---|---|`,
  ];
  for (const r of results) {
    const by = (name: string): Summary | undefined => r.summaries.find((x) => x.name === name);
    if (r.key === 'startup') {
      lines.push(`| ${r.label}: \`node -e 0\` vs \`pilot-agent version\` / \`istioctl version\` | ${cell(by('node'))} | ${cell(by('pilot-agent'))} / ${cell(by('istioctl'))} | – | – |`);
    } else {
      lines.push(`| ${r.label} | ${cell(by('pillion'))} | ${cell(by('istio'))} | ${ratioCell(r.ratio)} | ${cell(by('floor'))} |`);
    }
  }
  if (baselineRoot !== undefined) {
    lines.push('', `| with --baseline | Pillion before | Pillion | Istio | Pillion / before | before / Istio | Pillion / Istio |`, `|---|---|---|---|---|---|---|`);
    for (const r of results) {
      if (r.baseline === undefined) continue;
      const by = (name: string): Summary | undefined => r.summaries.find((x) => x.name === name);
      lines.push(`| ${r.label} | ${cell(by('pillion-before'))} | ${cell(by('pillion'))} | ${cell(by('istio'))} | ${ratioCell(r.baseline.afterVsBefore)} | ${ratioCell(r.baseline.beforeVsIstio)} | ${ratioCell(r.ratio)} |`);
    }
  }
  const environment = {
    date: new Date().toISOString(),
    node: spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim(),
    kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(),
    cpus: spawnSync('nproc', [], { encoding: 'utf8' }).stdout.trim(),
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg(),
    istio: istio.version,
    pillionRoot,
    pillionRevision: pillionRevision(pillionRoot, option('--pillion-rev')),
    ...(baselineRoot === undefined ? {} : { baselineRoot, baselineRevision: pillionRevision(baselineRoot, option('--baseline-rev')) }),
    rounds,
    bigRounds,
  };
  process.stdout.write(`${lines.join('\n')}\n\n` +
    `Medians of paired, interleaved rounds [min–max]; ratio of medians (25th–75th percentile of per-round ratios). ` +
    `${rounds} rounds (${bigRounds} for 200 × bookinfo) after one warm-up round; Node ${environment.node}, Istio ${istio.version}, ` +
    `Pillion ${environment.pillionRevision}${baselineRoot === undefined ? '' : ` (before: ${environment.baselineRevision})`}; load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} at the start.\n`);
  const dir = repoPath('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `startup-${environment.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ environment, rows: results }, null, 2)}\n`);
  log(`results in ${file}`);
}

await main();
