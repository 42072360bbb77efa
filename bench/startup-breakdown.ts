// Where the time of a cold `pillion-init apply` and a cold `pillion inject -f` goes (the measuring
// half of issue 11; bench/startup.ts gives the totals against Istio):
//   apply   every program it executes, in order, with when it started and how long it ran, from
//           `strace -f --seccomp-bpf -e trace=execve,exit_group` (only those two system calls
//           stop the process) in a fresh network namespace per run; Istio's pilot-agent
//           istio-iptables the same way, for comparison
//   inject  on the 1,500-env Deployment: Node's own start (`node -e 0`), start-up plus module load
//           (`pillion inject --help`), the yaml package cold in a fresh process (import, parse,
//           toJS, toString: bench/startup-yaml-cold.ts), the whole command; one V8 CPU profile
//           (--cpu-prof) split by package; the module files it opens, by package
// Run as root: node dist/bench/startup-breakdown.js [--runs N] [--pillion DIR] [--node PATH]. Text on stdout,
// JSON in bench/results/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findIstio } from './peers/istio.js';
import { writeWorkloads } from './peers/workloads.js';
import { deleteAllNamespaces, deleteNamespace, freshNamespace, inNs, istioInitArgs, pillionInitArgs, removeStaleNamespaces } from './startup-capture.js';
import { median } from './stats.js';
import { pillionProgram, timeProcess } from './startup-runs.js';
import { repoPath } from '../test/support/paths.js';

const log = (line: string): void => {
  process.stderr.write(`breakdown: ${line}\n`);
};
function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const runs = Number(option('--runs') ?? '7');
const pillionRoot = resolve(option('--pillion') ?? repoPath());
// The Node that runs Pillion's processes (--node: e.g. a newer one to compare); default this one.
const nodeBin = resolve(option('--node') ?? process.execPath);
const out: string[] = [];
const say = (line = ''): void => {
  out.push(line);
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;

interface Exec {
  pid: number;
  argv: string;
  startMs: number;
  endMs: number;
}

/** Parse `strace -f -ttt -e trace=execve,exit_group` output: each process's last program and its life. */
function parseTrace(text: string): { root: Exec; children: Exec[] } {
  const byPid = new Map<number, Exec>();
  const pending = new Map<number, { argv: string; at: number }>();
  let rootPid: number | undefined;
  let t0: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const pid = Number(m[1]);
    const ts = Number(m[2]) * 1000;
    const rest = m[3] ?? '';
    t0 ??= ts;
    rootPid ??= pid;
    // Concurrent processes split a call in two lines: `execve(... <unfinished ...>` and
    // `<... execve resumed>) = 0`.
    const exec = /^execve\("([^"]*)", \[(.*?)\](?:, 0x[0-9a-f]+ \/\* \d+ vars \*\/)?(?:\) += (-?\d+)| <unfinished \.\.\.>)/.exec(rest);
    const resumed = /^<\.\.\. execve resumed>.*= (-?\d+)/.exec(rest);
    let done: { argv: string; at: number } | undefined;
    if (exec !== null) {
      const argv = (exec[2] ?? '').replace(/"/g, '').replace(/, /g, ' ');
      if (exec[3] === undefined) pending.set(pid, { argv, at: ts });
      else if (exec[3] === '0') done = { argv, at: ts };
    } else if (resumed !== null) {
      const p = pending.get(pid);
      pending.delete(pid);
      if (p !== undefined && resumed[1] === '0') done = p;
    }
    if (done !== undefined) {
      const prev = byPid.get(pid);
      byPid.set(pid, { pid, argv: done.argv, startMs: prev?.startMs ?? done.at - t0, endMs: Number.NaN });
      continue;
    }
    if (/^\+\+\+ exited with/.test(rest) || /^\+\+\+ killed by/.test(rest)) {
      const e = byPid.get(pid);
      if (e !== undefined && Number.isNaN(e.endMs)) e.endMs = ts - t0;
    }
  }
  const root = rootPid === undefined ? undefined : byPid.get(rootPid);
  if (root === undefined) throw new Error('no root process in the trace');
  return { root, children: [...byPid.values()].filter((e) => e.pid !== rootPid).sort((a, b) => a.startMs - b.startMs) };
}

function traceApply(name: string, argv: (ns: string) => string[], env: NodeJS.ProcessEnv | undefined, tmp: string): unknown {
  const traces: ReturnType<typeof parseTrace>[] = [];
  for (let i = 0; i <= runs; i++) {
    const ns = freshNamespace();
    const file = join(tmp, `${name}.trace`);
    try {
      const r = spawnSync('strace', ['-f', '--seccomp-bpf', '-ttt', '-q', '-e', 'trace=execve,exit_group', '-o', file, ...inNs(ns, argv(ns))], { encoding: 'utf8', env: env ?? process.env });
      if (r.status !== 0) throw new Error(`${name} under strace failed: ${r.stderr}`);
    } finally {
      deleteNamespace(ns);
    }
    if (i > 0) traces.push(parseTrace(readFileSync(file, 'utf8'))); // run 0 warms the page cache
  }
  const first = traces[0];
  if (first === undefined) throw new Error('no traces');
  const n = first.children.length;
  if (traces.some((t) => t.children.length !== n)) log(`${name}: exec count varies between runs: ${traces.map((t) => t.children.length).join(', ')}`);
  const total = median(traces.map((t) => t.root.endMs));
  const firstExec = median(traces.map((t) => t.children[0]?.startMs ?? Number.NaN));
  const inChildren = median(traces.map((t) => t.children.reduce((sum, c) => sum + (c.endMs - c.startMs), 0)));
  say(`${name}: ${n} programs executed, median of ${traces.length} traced runs (strace adds a little to each exec)`);
  say(`  whole process ${ms(total)}; first exec at ${ms(firstExec)} (start-up and module load before it);` +
    ` inside the ${n} programs ${ms(inChildren)}; between and after them ${ms(total - firstExec - inChildren)}`);
  say(`  | # | program | starts at | runs for |`);
  say(`  |---|---|---|---|`);
  const rows = first.children.map((c, i) => {
    const start = median(traces.map((t) => t.children[i]?.startMs ?? Number.NaN));
    const dur = median(traces.map((t) => { const x = t.children[i]; return x === undefined ? Number.NaN : x.endMs - x.startMs; }));
    say(`  | ${i + 1} | \`${c.argv.length > 90 ? `${c.argv.slice(0, 87)}...` : c.argv}\` | ${ms(start)} | ${ms(dur)} |`);
    return { argv: c.argv, startMs: start, durationMs: dur };
  });
  say();
  return { execs: n, totalMs: total, firstExecMs: firstExec, inChildrenMs: inChildren, rows };
}

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
  children?: number[];
}

function category(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm !== null) return `package ${nm[1]}`;
  const dist = /\/dist\/([^/]+)\/([^/]+)\//.exec(url);
  if (dist !== null) return `pillion ${dist[1]}/${dist[2]}`;
  if (url.startsWith('node:')) return 'node internals (incl. module loader)';
  if (url === '') return functionName === '' ? '(anonymous)' : functionName;
  return url;
}

/** Functions of the inject path whose inclusive time (their callees included) the profile reports. */
const namedFunctions = ['loadSetup', 'readInputs', 'injectManifests', 'parseStream', 'toKubeValue', 'injectPod', 'renderInjected', 'syncDocument', 'yamlBody', 'readsBackAs'];

function profileBreakdown(argv: string[], tmp: string): { self: Record<string, number>; inclusive: Record<string, number>; totalMs: number } {
  const dir = join(tmp, 'prof');
  rmSync(dir, { recursive: true, force: true });
  const r = spawnSync(nodeBin, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200', ...argv], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`profiled run failed: ${r.stderr}`);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no CPU profile written');
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const cat = new Map(profile.nodes.map((n) => [n.id, category(n)]));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self: Record<string, number> = {};
  const inclusive: Record<string, number> = {};
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += dt;
    const c = cat.get(id) ?? '?';
    self[c] = (self[c] ?? 0) + dt;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)?.callFrame.functionName ?? '';
      if (namedFunctions.includes(name) && !seen.has(name)) {
        seen.add(name);
        inclusive[name] = (inclusive[name] ?? 0) + dt;
      }
    }
  });
  return { self, inclusive, totalMs };
}

function openedModules(argv: string[], tmp: string): Record<string, number> {
  const file = join(tmp, 'open.trace');
  const r = spawnSync('strace', ['-f', '--seccomp-bpf', '-q', '-e', 'trace=openat', '-e', 'status=successful', '-o', file, nodeBin, ...argv], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('strace of inject failed');
  const counts: Record<string, number> = {};
  for (const m of readFileSync(file, 'utf8').matchAll(/openat\([^,]+, "([^"]+\.(?:m?js|cjs|json))"/g)) {
    const path = m[1] ?? '';
    const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    const key = nm !== null ? (nm[1] ?? '?') : path.includes('/dist/') ? `pillion ${/\/dist\/([^/]+)\//.exec(path)?.[1] ?? ''}` : 'other';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function medianRun(argv: string[], sink: string): number {
  const xs: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t = timeProcess(argv, undefined, sink);
    if (i > 0) xs.push(t);
  }
  return median(xs);
}

function main(): void {
  const istio = findIstio();
  const tmp = mkdtempSync(join(tmpdir(), 'pillion-bench-breakdown-'));
  const result: Record<string, unknown> = { date: new Date().toISOString(), node: spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim(), runs };
  try {
    removeStaleNamespaces(log);
    const pillionInit = pillionProgram(pillionRoot, 'pillion-init');
    say('## pillion-init apply (dual-stack, backend auto), fresh network namespace per run');
    result.pillionInit = traceApply('pillion-init apply', () => [nodeBin, pillionInit, ...pillionInitArgs], undefined, tmp);
    const initSink = join(tmp, 'init-sink');
    const initNode = medianRun([nodeBin, '-e', '0'], initSink);
    const dryRun = medianRun([nodeBin, pillionInit, ...pillionInitArgs, '--ipv6', 'on', '--backend', 'nft', '--dry-run'], initSink);
    const execaLoad = medianRun([nodeBin, '--input-type=module', '-e', `await import(${JSON.stringify(join(pillionRoot, 'node_modules', 'execa', 'index.js'))})`], initSink);
    const nodeModule = medianRun([nodeBin, '--input-type=module', '-e', '0'], initSink);
    say(`untraced, medians of ${runs}: node -e 0 ${ms(initNode)}; pillion-init apply --dry-run (start-up, modules, plan and render, no exec) ${ms(dryRun)};` +
      ` importing execa alone ${ms(execaLoad - nodeModule)} over an empty ES module (${ms(nodeModule)}; pillion-init spawns with node:child_process and never loads it)`);
    say();
    result.pillionInitUntraced = { nodeStartMs: initNode, dryRunMs: dryRun, execaImportMs: execaLoad - nodeModule };
    if (typeof istio !== 'string') {
      result.istioIptables = traceApply('pilot-agent istio-iptables', () => [istio.pilotAgent, ...istioInitArgs], { ...process.env, ISTIO_DUAL_STACK: 'true' }, tmp);
    }

    say('## pillion inject -f on the 1,500-env Deployment');
    const [, env1500] = writeWorkloads(join(tmp, 'manifests'));
    if (env1500 === undefined) throw new Error('no 1,500-env workload');
    const pillion = pillionProgram(pillionRoot, 'pillion');
    const sink = join(tmp, 'sink');
    const nodeStart = medianRun([nodeBin, '-e', '0'], sink);
    const help = medianRun([nodeBin, pillion, 'inject', '--help'], sink);
    const whole = medianRun([nodeBin, pillion, 'inject', '-f', env1500.file], sink);
    const cold = fileURLToPath(new URL('./startup-yaml-cold.js', import.meta.url));
    const yamlRuns: { atEntryMs: number; importMs: number; parseMs: number; toJsMs: number; toStringMs: number }[] = [];
    for (let i = 0; i <= runs; i++) {
      const r = spawnSync(nodeBin, [cold, env1500.file], { encoding: 'utf8', cwd: pillionRoot });
      if (r.status !== 0) throw new Error(`startup-yaml-cold failed: ${r.stderr}`);
      if (i > 0) yamlRuns.push(JSON.parse(r.stdout) as (typeof yamlRuns)[number]);
    }
    const y = (k: keyof (typeof yamlRuns)[number]): number => median(yamlRuns.map((r) => r[k]));
    const yaml = { importMs: y('importMs'), parseMs: y('parseMs'), toJsMs: y('toJsMs'), toStringMs: y('toStringMs') };
    say(`medians of ${runs} runs each (after one warm-up), whole processes unless said:`);
    say(`  node -e 0                               ${ms(nodeStart)}`);
    say(`  pillion inject --help                   ${ms(help)}  (start-up + loading the CLI's modules: ${ms(help - nodeStart)} over node -e 0)`);
    say(`  pillion inject -f (${Math.round(env1500.bytes / 1024)} KB)             ${ms(whole)}  (${ms(whole - help)} over --help)`);
    say(`  yaml, cold, in a fresh process: import ${ms(yaml.importMs)}, parseAllDocuments ${ms(yaml.parseMs)}, toJS ${ms(yaml.toJsMs)}, toString ${ms(yaml.toStringMs)}`);
    const phaseRuns: Record<string, number>[] = [];
    const phases = fileURLToPath(new URL('./startup-inject-phases.js', import.meta.url));
    for (let i = 0; i <= runs; i++) {
      const r = spawnSync(nodeBin, [phases, env1500.file], { encoding: 'utf8', cwd: pillionRoot });
      if (r.status !== 0) throw new Error(`startup-inject-phases failed: ${r.stderr}`);
      if (i > 0) phaseRuns.push(JSON.parse(r.stdout) as Record<string, number>);
    }
    const phase = Object.fromEntries(['atEntryMs', 'importMs', 'setupMs', 'readMs', 'pipelineMs', 'writeMs'].map((k) => [k, median(phaseRuns.map((r) => r[k] ?? Number.NaN))]));
    say(`  the CLI's steps in one cold process (bench/startup-inject-phases.ts): Node start-up to entry ${ms(phase.atEntryMs ?? 0)},` +
      ` the binary's imports ${ms(phase.importMs ?? 0)}, setup (templates) ${ms(phase.setupMs ?? 0)}, read ${ms(phase.readMs ?? 0)},` +
      ` injectManifests ${ms(phase.pipelineMs ?? 0)}, write ${ms(phase.writeMs ?? 0)}`);
    const profile = profileBreakdown([pillion, 'inject', '-f', env1500.file], tmp);
    const top = Object.entries(profile.self).sort((a, b) => b[1] - a[1]).slice(0, 12);
    say(`  one run under --cpu-prof (200 µs sampling, ${ms(profile.totalMs)} profiled), self time by where the code lives:`);
    for (const [k, v] of top) say(`    ${ms(v).padStart(9)}  ${k}`);
    say('  inclusive time of the pipeline\'s functions (callees included; nested ones overlap):');
    for (const name of namedFunctions) if (profile.inclusive[name] !== undefined) say(`    ${ms(profile.inclusive[name] ?? 0).padStart(9)}  ${name}`);
    const opened = openedModules([pillion, 'inject', '-f', env1500.file], tmp);
    say(`  module files opened (.js/.json): ${Object.values(opened).reduce((a, b) => a + b, 0)} — ${Object.entries(opened).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    result.inject = { file: env1500.file, bytes: env1500.bytes, nodeStartMs: nodeStart, helpMs: help, wholeMs: whole, yaml, phases: phase, profile, opened };
  } finally {
    deleteAllNamespaces();
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`${out.join('\n')}\n`);
  const dir = repoPath('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `startup-breakdown-${String(result.date).replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`results in ${file}`);
}

main();
