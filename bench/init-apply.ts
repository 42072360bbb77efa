// Benchmark: how long it takes to install the default capture rule set (IPv4) with
//   pillion-cli      : the real CLI end to end (node start-up, detection, save, one restore)
//   pillion-library  : applyCapture() in-process (detection, iptables-save, one restore)
//   bare-restore     : one `iptables-restore --noflush` of the same text (the floor)
//   per-rule         : one `iptables` process per chain and per rule (the classic shell-script way)
// for both backends, as medians of several repetitions in ONE run, reported as ratios.
// Run as root: `node dist/bench/init-apply.js [reps]`. It creates a network namespace, re-runs
// itself inside it, and removes the namespace afterwards. Table on stdout, JSON in bench/results/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyCapture } from '../init/apply/apply.js';
import { toolName, type Backend } from '../init/backend/tools.js';
import { parseCaptureConfig } from '../init/config.js';
import { SpawnExecutor } from '../init/exec/spawn-executor.js';
import { pillionProgram } from './startup-runs.js';
import { planCaptureRules } from '../init/plan/planner.js';
import { renderRestore, renderRuleArgs } from '../init/plan/render.js';
import { median } from './stats.js';

const self = fileURLToPath(import.meta.url);
const repoRoot = join(dirname(self), '..', '..');
const reps = Number(process.argv[2] ?? '9');

function run(argv: string[], input?: string): void {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
}

/** Remove everything between repetitions (not timed). */
function reset(backend: Backend): void {
  run([`iptables-${backend}`, '-t', 'nat', '-F']);
  run([`iptables-${backend}`, '-t', 'nat', '-X']);
}

async function time(fn: () => Promise<void> | void): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function measureInside(): Promise<void> {
  const argv = ['--ipv6', 'off'];
  const config = parseCaptureConfig(argv, {});
  const plan = planCaptureRules(config);
  const text = renderRestore(plan, 4);
  const family = plan.families.find((f) => f.family === 4);
  if (family === undefined) throw new Error('no IPv4 plan');
  const table = family.tables[0];
  if (table === undefined) throw new Error('no nat table in the plan');
  const ruleCount = table.chains.reduce((n, c) => n + c.rules.length, 0) + table.jumps.length;
  const executor = new SpawnExecutor();
  const quiet = (): void => undefined;
  const results: Record<string, Record<string, number>> = {};

  for (const backend of ['legacy', 'nft'] as const) {
    const perRuleArgv = [
      ...table.chains.map((c) => [`iptables-${backend}`, '-t', 'nat', '-N', c.name]),
      ...table.chains.flatMap((c) => c.rules.map((r) => [`iptables-${backend}`, '-t', 'nat', '-A', c.name, ...renderRuleArgs(r)])),
      ...table.jumps.map((j) => [`iptables-${backend}`, '-t', 'nat', '-A', j.chain, ...renderRuleArgs(j)]),
    ];
    const samples: Record<string, number[]> = { 'pillion-cli': [], 'pillion-library': [], 'bare-restore': [], 'per-rule': [] };
    const cliConfig = parseCaptureConfig([...argv, '--backend', backend], {});
    for (let i = 0; i < reps; i++) {
      // Interleave the methods so drift on a shared machine hits them all alike.
      reset(backend);
      samples['pillion-cli']?.push(await time(() => run([process.execPath, pillionProgram(repoRoot, 'pillion-init'), ...argv, '--backend', backend])));
      reset(backend);
      samples['pillion-library']?.push(await time(async () => { await applyCapture(cliConfig, executor, quiet); }));
      reset(backend);
      samples['bare-restore']?.push(await time(() => run([toolName('restore', backend, 4), '--noflush'], text)));
      reset(backend);
      samples['per-rule']?.push(await time(() => { for (const a of perRuleArgv) run(a); }));
    }
    reset(backend);
    results[backend] = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  }

  const lines = [`pillion-init apply, default rule set (${ruleCount} rules, IPv4), median of ${reps} runs, milliseconds`, ''];
  lines.push('backend  pillion-cli  pillion-lib  bare-restore  per-rule  per-rule/pillion-lib  per-rule/pillion-cli  pillion-lib/bare-restore');
  for (const [backend, r] of Object.entries(results)) {
    const f = (n: number | undefined): string => (n ?? NaN).toFixed(1);
    const ratio = (a: number | undefined, b: number | undefined): string => ((a ?? NaN) / (b ?? NaN)).toFixed(2) + 'x';
    lines.push(
      `${backend.padEnd(8)} ${f(r['pillion-cli']).padStart(11)}  ${f(r['pillion-library']).padStart(11)}  ${f(r['bare-restore']).padStart(12)}  ${f(r['per-rule']).padStart(8)}  ${ratio(r['per-rule'], r['pillion-library']).padStart(20)}  ${ratio(r['per-rule'], r['pillion-cli']).padStart(20)}  ${ratio(r['pillion-library'], r['bare-restore']).padStart(24)}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  const outDir = join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `init-apply-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ benchmark: 'init-apply', reps, ruleCount, unit: 'ms (median)', results }, null, 2) + '\n');
  process.stderr.write(`results written to ${file}\n`);
}

function main(): void {
  if (process.getuid?.() !== 0) {
    process.stderr.write('init-apply bench needs root (it creates a network namespace)\n');
    process.exit(1);
  }
  const ns = `pbench-${process.pid}`;
  run(['ip', 'netns', 'add', ns]);
  try {
    run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, self, String(reps)], {
      stdio: 'inherit',
      env: { ...process.env, PILLION_BENCH_INSIDE: ns },
    });
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

if (process.env.PILLION_BENCH_INSIDE !== undefined) await measureInside();
else main();
