// Capture rows of bench/startup.ts: `pillion-init apply` against Istio's
// `pilot-agent istio-iptables` (with the arguments Istio's injection template gives its istio-init
// container, dual-stack as Istio's dual-stack meshes ask for it: ISTIO_DUAL_STACK=true in the
// container's env), and the floor: iptables-restore alone of Pillion's rule text, one process per
// family. Every run gets a network namespace of its own, laid out like a dual-stack pod's
// (freshNamespace), made before the clock starts and deleted after it stops; the host's own rules are never touched.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerExitCleanup } from '../e2e/support/exit-cleanup.js';
import { pillionProgram, type Contestant } from './startup-runs.js';

export type CaptureBackend = 'auto' | 'legacy' | 'nft';

/** Istio's istio-init arguments (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml, default values). */
export const istioInitArgs: readonly string[] = [
  'istio-iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*',
  '-d', '15090,15021,15020', '--log_output_level=default:info',
];

/** Pillion's defaults, with the inbound exclusions Istio's template gives (15020 is Istio's agent port). */
export const pillionInitArgs: readonly string[] = ['apply', '--exclude-inbound-ports', '15090,15021,15020'];

function must(argv: readonly string[], input?: string, env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', input, env: env ?? process.env });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

const prefix = `pillion-bench-${process.pid}-`;
const live = new Set<string>();
let counter = 0;

/** Deletes every namespace this process made that is still there (also run at exit and on signals). */
export function deleteAllNamespaces(): void {
  for (const ns of live) spawnSync('ip', ['netns', 'del', ns]);
  live.clear();
}
registerExitCleanup(deleteAllNamespaces);

/** Namespaces left behind by an earlier run of this benchmark whose process is gone. */
export function removeStaleNamespaces(log: (line: string) => void): void {
  const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0] ?? '');
  for (const name of names) {
    const m = /^pillion-bench-(\d+)-\d+$/.exec(name);
    if (m === null) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      log(`removing stale namespace ${name}`);
      spawnSync('ip', ['netns', 'del', name]);
    }
  }
}

/**
 * A new namespace laid out like a dual-stack pod's: loopback up and an eth0 with one IPv4 and one
 * IPv6 address (istio-iptables refuses to run without a non-loopback address, and programs IPv6
 * only when it sees a global IPv6 one). eth0 is one end of a veth pair whose other end stays in
 * the same namespace, down (this kernel has no dummy links), and the addresses come from the
 * documentation ranges (192.0.2.0/24, 2001:db8::/32): nothing is ever sent anywhere.
 */
export function freshNamespace(): string {
  const ns = `${prefix}${counter++}`;
  must(['ip', 'netns', 'add', ns]);
  live.add(ns);
  must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  must(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  must(['ip', '-n', ns, 'addr', 'add', '192.0.2.10/24', 'dev', 'eth0']);
  must(['ip', '-n', ns, 'addr', 'add', '2001:db8::10/64', 'dev', 'eth0', 'nodad']);
  must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  return ns;
}

export function deleteNamespace(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns]);
  live.delete(ns);
}

export const inNs = (ns: string, argv: readonly string[]): string[] => ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];

/** Both families' rules in `ns` for one backend (iptables-save, counters and comments kept). */
export function saveRules(ns: string, backend: 'legacy' | 'nft'): { v4: string; v6: string } {
  return {
    v4: must(inNs(ns, [`iptables-${backend}-save`, '-t', 'nat'])),
    v6: must(inNs(ns, [`ip6tables-${backend}-save`, '-t', 'nat'])),
  };
}

const ruleLines = (save: string): string[] => save.split('\n').filter((l) => l.startsWith('-A '));

export interface CaptureRow {
  readonly key: string;
  readonly label: string;
  readonly contestants: Contestant<unknown>[];
  /** Rules left by each contestant's warm-up run (name → family → -A lines). */
  readonly rules: Record<string, { v4: string[]; v6: string[]; lo6: string }>;
  /** Cleaned up by the caller. */
  readonly tmp: string;
}

/**
 * One capture row. With `baselineRoot` (another checkout with dist/ built, e.g. the commit before a
 * change) its pillion-init runs as a fourth contestant, `pillion-before`, in the same rounds.
 */
export function captureRow(backend: CaptureBackend, nodeBin: string, pillionRoot: string, pilotAgent: string, baselineRoot?: string): CaptureRow {
  const saveBackend = backend === 'auto' ? 'nft' : backend; // in a fresh namespace both tools pick nft here
  const tmp = mkdtempSync(join(tmpdir(), 'pillion-bench-capture-'));
  const pillionInit = pillionProgram(pillionRoot, 'pillion-init');
  const pillionArgs = [...pillionInitArgs, ...(backend === 'auto' ? [] : ['--backend', backend])];
  const istioArgs = [...istioInitArgs, ...(backend === 'auto' ? [] : [`--force-iptables-binary=${backend}`])];
  // As in the init image (Dockerfile.init): V8's compile cache in a folder of its own, written by a
  // dry run before the first apply; that dry run also gives the floor's text, what Pillion would
  // restore, one file per family.
  const pillionEnv = { ...process.env, NODE_COMPILE_CACHE: join(tmp, 'compile-cache') };
  const dry = must([nodeBin, pillionInit, ...pillionInitArgs, '--ipv6', 'on', '--backend', saveBackend, '--dry-run'], undefined, pillionEnv);
  const [v4, v6] = dry.split(/^# pillion-init: IPv6.*\n/m);
  if (v4 === undefined || v6 === undefined) throw new Error(`unexpected --dry-run output:\n${dry}`);
  writeFileSync(join(tmp, 'v4.rules'), v4);
  writeFileSync(join(tmp, 'v6.rules'), v6);
  const floorScript = `${saveBackend === 'nft' ? 'iptables-nft-restore' : 'iptables-legacy-restore'} --noflush < ${join(tmp, 'v4.rules')} && ` +
    `${saveBackend === 'nft' ? 'ip6tables-nft-restore' : 'ip6tables-legacy-restore'} --noflush < ${join(tmp, 'v6.rules')}`;

  const rules: CaptureRow['rules'] = {};
  const expected = new Map<string, number>();
  const contestant = (name: string, argv: (ns: string) => string[], env?: NodeJS.ProcessEnv): Contestant<unknown> => ({
    name,
    env,
    prepare: () => freshNamespace(),
    argv: (ns) => inNs(ns as string, argv(ns as string)),
    finish: (context, first) => {
      const ns = context as string;
      try {
        const saved = saveRules(ns, saveBackend);
        const count = ruleLines(saved.v4).length + ruleLines(saved.v6).length;
        if (first) {
          rules[name] = { v4: ruleLines(saved.v4), v6: ruleLines(saved.v6), lo6: must(inNs(ns, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'lo'])) };
          expected.set(name, count);
          if (count === 0) throw new Error(`${name} left no ${saveBackend} rules in ${ns}`);
        } else if (count !== expected.get(name)) {
          throw new Error(`${name} left ${count} rules in ${ns}, ${expected.get(name)} in its first run`);
        }
      } finally {
        deleteNamespace(ns);
      }
    },
  });
  return {
    key: `capture-${backend}`,
    label: backend === 'auto' ? 'capture apply, dual-stack, backend auto-detected (both pick nft)' : `capture apply, dual-stack, backend ${backend} (forced)`,
    contestants: [
      contestant('pillion', () => [nodeBin, pillionInit, ...pillionArgs], pillionEnv),
      ...(baselineRoot === undefined ? [] : [contestant('pillion-before', () => [nodeBin, pillionProgram(baselineRoot, 'pillion-init'), ...pillionArgs])]),
      contestant('istio', () => [pilotAgent, ...istioArgs], { ...process.env, ISTIO_DUAL_STACK: 'true' }),
      contestant('floor', () => ['sh', '-c', floorScript]),
    ],
    rules,
    tmp,
  };
}

export function cleanupRow(row: CaptureRow): void {
  rmSync(row.tmp, { recursive: true, force: true });
}

/** The command lines as a reader would type them (for the report). */
export function captureCommands(backend: CaptureBackend): { pillion: string; istio: string } {
  const quote = (a: string): string => (/^[\w.,=:/-]+$/.test(a) ? a : `'${a}'`);
  return {
    pillion: `pillion-init ${[...pillionInitArgs, ...(backend === 'auto' ? [] : ['--backend', backend])].map(quote).join(' ')}`,
    istio: `ISTIO_DUAL_STACK=true pilot-agent ${[...istioInitArgs, ...(backend === 'auto' ? [] : [`--force-iptables-binary=${backend}`])].map(quote).join(' ')}`,
  };
}
