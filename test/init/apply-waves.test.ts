// apply in two waves (all reads at once, then all writes at once), through test executors: every
// read runs once, the writes really run together, and a failure anywhere rolls every family back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCapture } from '../../init/apply/apply.js';
import { cleanupCapture } from '../../init/apply/cleanup.js';
import { inspectCapture } from '../../init/apply/inspect.js';
import { parseCaptureConfig } from '../../init/config.js';
import { RuntimeError } from '../../init/errors.js';
import { RecordingExecutor, ok, type CommandResult, type Executor, type RunOptions } from '../../init/exec/executor.js';
import { planCaptureRules } from '../../init/plan/planner.js';
import { renderRestore } from '../../init/plan/render.js';
import { collectLog, fixture } from './support.js';

const loWith = (...addresses: string[]): CommandResult => ok(addresses.map((a) => `1: lo    inet6 ${a} scope host \\       valid_lft forever\n`).join(''));
const failed = (stderr: string, exitCode = 1): CommandResult => ({ exitCode, stdout: '', stderr });

interface Namespace {
  /** What each family's save prints; a restore of that family replaces it with what it installs. */
  saves: Record<4 | 6, string>;
  lo: CommandResult;
  failRestore?: readonly (4 | 6)[];
  addSource?: CommandResult;
}

/** A namespace with the nft alternative and no legacy rules, whose restores change what its saves print. */
function namespace(ns: Namespace): RecordingExecutor {
  const restoresDone: Record<4 | 6, number> = { 4: 0, 6: 0 };
  return new RecordingExecutor((argv, input): CommandResult | undefined => {
    const cmd = argv.join(' ');
    if (cmd === 'iptables --version') return ok('iptables v1.8.9 (nf_tables)\n');
    if (/^ip6?tables-legacy-save$/.test(cmd)) return ok('');
    if (cmd === 'iptables-nft-save') return ok(ns.saves[4]);
    if (cmd === 'ip6tables-nft-save') return ok(ns.saves[6]);
    if (cmd === 'ip -6 -o addr show dev lo') return ns.lo;
    if (cmd === 'ip -6 addr add ::6/128 dev lo') return ns.addSource ?? ok();
    if (cmd === 'ip -6 addr del ::6/128 dev lo') return ok();
    const restore = /^(ip6?)tables-nft-restore --noflush$/.exec(cmd);
    if (restore !== null) {
      const family = restore[1] === 'ip6' ? 6 : 4;
      if (ns.failRestore?.includes(family) === true) return failed(`line ${family} failed`);
      // The first restore installs the plan (the apply), a later one the rollback's text.
      if (restoresDone[family]++ === 0) ns.saves[family] = renderRestore(planCaptureRules(parseCaptureConfig([], {})), family);
      else ns.saves[family] = input ?? '';
      return ok();
    }
    return undefined;
  });
}

const commands = (ex: RecordingExecutor): string[] => ex.calls.map((c) => c.argv.join(' '));

test('a fresh dual-stack namespace: 6 reads, then ::6 and both transactions, each command once', async () => {
  const ex = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') });
  const result = await applyCapture(parseCaptureConfig([], {}), ex, collectLog().log);
  assert.deepEqual(result.changed, [4, 6]);
  assert.equal(result.backend.backend, 'nft');
  assert.deepEqual(commands(ex), [
    'iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save', 'iptables --version', 'ip -6 -o addr show dev lo',
    'ip -6 addr add ::6/128 dev lo', 'iptables-nft-restore --noflush', 'ip6tables-nft-restore --noflush',
  ]);
});

function saveOf(family: 4 | 6): string {
  return renderRestore(planCaptureRules(parseCaptureConfig([], {})), family);
}

test('a repeated apply converges with reads only: no restore, no ip add (no files to read here, so no first try: see apply-fresh.test.ts)', async () => {
  const again = namespace({ saves: { 4: saveOf(4), 6: saveOf(6) }, lo: loWith('::1/128', '::6/128') });
  const { log, lines } = collectLog();
  const result = await applyCapture(parseCaptureConfig([], {}), again, log);
  assert.deepEqual(result.changed, []);
  assert.ok(commands(again).every((c) => !/restore|addr (add|del)/.test(c)), commands(again).join('\n'));
  assert.ok(lines.includes('::6/128 on lo: present'));
  assert.ok(lines.includes('IPv6: rules already as planned, nothing to do'));
});

test('a forced backend reads only its own saves and lo; IPv4 only reads no lo at all', async () => {
  const ex = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') });
  await applyCapture(parseCaptureConfig(['--backend', 'nft'], {}), ex, collectLog().log);
  assert.deepEqual(commands(ex).slice(0, 3), ['iptables-nft-save', 'ip6tables-nft-save', 'ip -6 -o addr show dev lo']);
  const v4 = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') });
  await applyCapture(parseCaptureConfig(['--backend', 'nft', '--ipv6', 'off'], {}), v4, collectLog().log);
  assert.deepEqual(commands(v4), ['iptables-nft-save', 'iptables-nft-restore --noflush']);
});

test('the writes run together: both transactions and ::6 start before any of them ends', { timeout: 5000 }, async () => {
  const started: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const inner = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') });
  const ex: Executor = {
    async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
      const cmd = argv.join(' ');
      const answer = await inner.run(argv, options);
      if (/restore|addr add/.test(cmd)) {
        started.push(cmd);
        if (started.length === 3) release();
        await gate;
      }
      return answer;
    },
  };
  const result = await applyCapture(parseCaptureConfig([], {}), ex, collectLog().log);
  assert.deepEqual(result.changed, [4, 6]);
  assert.deepEqual(started, ['ip -6 addr add ::6/128 dev lo', 'iptables-nft-restore --noflush', 'ip6tables-nft-restore --noflush']);
});

test('a failed IPv4 transaction rolls back the IPv6 one that succeeded beside it, and the ::6 it added', async () => {
  const ex = namespace({ saves: { 4: '', 6: fixture('foreign-only.save') }, lo: loWith('::1/128'), failRestore: [4] });
  const { log, lines } = collectLog();
  await assert.rejects(applyCapture(parseCaptureConfig([], {}), ex, log), (e: unknown) => {
    assert.ok(e instanceof RuntimeError);
    assert.match(e.message, /^iptables-nft-restore --noflush rejected the IPv4 transaction \(exit 1\): line 4 failed$/);
    return true;
  });
  const v6Restores = ex.calls.filter((c) => c.argv[0] === 'ip6tables-nft-restore');
  assert.equal(v6Restores.length, 2, 'the apply and the rollback');
  assert.doesNotMatch(v6Restores[1]?.input ?? '', /^-A /m, 'nothing was installed before: the rollback only removes');
  assert.match(v6Restores[1]?.input ?? '', /^-X PILLION_OUTPUT$/m);
  assert.ok(lines.includes('IPv6: rolled back to the previous rules'));
  assert.ok(!lines.includes('IPv4: rolled back to the previous rules'), 'IPv4 changed nothing');
  assert.equal(commands(ex).at(-1), 'ip -6 addr del ::6/128 dev lo');
});

test('both transactions failing: nothing to roll back, one error naming both', async () => {
  const ex = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128', '::6/128'), failRestore: [4, 6] });
  await assert.rejects(applyCapture(parseCaptureConfig([], {}), ex, collectLog().log), (e: unknown) => {
    assert.ok(e instanceof RuntimeError);
    assert.match(e.message, /rejected the IPv4 transaction .*; and ip6tables-nft-restore --noflush rejected the IPv6 transaction/);
    return true;
  });
  assert.equal(ex.calls.filter((c) => c.argv[0]?.endsWith('-restore')).length, 2, 'no rollback transaction');
  assert.ok(!commands(ex).some((c) => c.startsWith('ip -6 addr')), '::6 was there already: neither added nor removed');
});

test('::6 failing beside successful transactions rolls both families back', async () => {
  const ex = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128'), addSource: failed('RTNETLINK answers: Operation not permitted', 2) });
  const { log, lines } = collectLog();
  await assert.rejects(applyCapture(parseCaptureConfig([], {}), ex, log), /ip -6 addr add ::6\/128 dev lo failed: RTNETLINK answers: Operation not permitted/);
  assert.ok(lines.includes('IPv4: rolled back to the previous rules'));
  assert.ok(lines.includes('IPv6: rolled back to the previous rules'));
  assert.ok(!commands(ex).includes('ip -6 addr del ::6/128 dev lo'), 'this apply added no ::6');
});

test('lo without IPv6 (caller-given families): ::6 is tried first and alone, and its failure changes nothing', async () => {
  const ex = namespace({ saves: { 4: '', 6: '' }, lo: ok(''), addSource: failed('RTNETLINK answers: Permission denied', 2) });
  await assert.rejects(applyCapture(parseCaptureConfig([], {}), ex, collectLog().log, { families: [4, 6] }), /::6\/128 dev lo failed: RTNETLINK answers: Permission denied/);
  assert.ok(!commands(ex).some((c) => c.includes('-restore')), commands(ex).join('\n'));
});

test('::6 that appeared since lo was read counts as present, and is not taken away on failure', async () => {
  const ex = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128'), addSource: failed('RTNETLINK answers: File exists', 2), failRestore: [6] });
  const { log, lines } = collectLog();
  await assert.rejects(applyCapture(parseCaptureConfig([], {}), ex, log), /rejected the IPv6 transaction/);
  assert.ok(lines.includes('::6/128 on lo: present'));
  assert.ok(!commands(ex).includes('ip -6 addr del ::6/128 dev lo'));
});

test('inspect reads each save once, all at once; cleanup reads every back end and family before its first transaction', async () => {
  const ex = namespace({ saves: { 4: saveOf(4), 6: '' }, lo: loWith('::1/128') });
  const inspection = await inspectCapture(parseCaptureConfig([], {}), ex, [4, 6]);
  assert.deepEqual(inspection.families.map((f) => f.asPlanned), [true, false]);
  assert.deepEqual(commands(ex), ['iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save', 'iptables --version']);
  const cleanup = namespace({ saves: { 4: saveOf(4), 6: saveOf(6) }, lo: loWith('::1/128') });
  assert.equal(await cleanupCapture({ backend: 'auto', ipv6: 'auto' }, cleanup, collectLog().log), 2);
  assert.deepEqual(commands(cleanup), [
    'iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save', 'iptables-nft-restore --noflush', 'ip6tables-nft-restore --noflush',
  ]);
});

/** The same namespace, through an executor that can also read its /proc/net files (as pillion-init's own can). */
function withFiles(ex: RecordingExecutor, files: Record<string, string>): Executor & { calls: RecordingExecutor['calls']; read: string[] } {
  const read: string[] = [];
  return {
    calls: ex.calls,
    read,
    run: (argv, options) => ex.run(argv, options),
    readFiles: (paths) => {
      read.push(...paths);
      return Promise.resolve(paths.map((path) => files[path]));
    },
  };
}

const if_inet6 = (...lines: string[]): string => lines.map((l) => `${l}\n`).join('');
const lo1 = '00000000000000000000000000000001 01 80 10 80       lo';
const lo6 = '00000000000000000000000000000006 01 80 00 80       lo';
const eth0 = '20010db8000000000000000000000010 02 40 00 80     eth0';

test('files instead of processes: no legacy table means no legacy save, lo from /proc/net/if_inet6, so the first try (apply-fresh.test.ts) runs no save at all', async () => {
  const ex = withFiles(namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') }), {
    '/proc/net/ip_tables_names': '', '/proc/net/if_inet6': if_inet6(lo1, eth0),
  });
  const result = await applyCapture(parseCaptureConfig([], {}), ex, collectLog().log);
  assert.deepEqual(result.changed, [4, 6]);
  assert.deepEqual(ex.calls.map((c) => c.argv.join(' ')), [
    'iptables --version', 'ip6tables-nft-restore --noflush', 'iptables-nft-restore --noflush', 'ip -6 addr add ::6/128 dev lo',
  ], 'ip6_tables_names missing (no module): no save either');
  assert.deepEqual(ex.read.sort(), ['/proc/net/if_inet6', '/proc/net/ip6_tables_names', '/proc/net/ip_tables_names']);
});

test('files: a legacy table is there, so its save runs; ::6 on lo in if_inet6 means no ip add', async () => {
  const ex = withFiles(namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') }), {
    '/proc/net/ip_tables_names': 'nat\n', '/proc/net/ip6_tables_names': '', '/proc/net/if_inet6': if_inet6(lo1, lo6),
  });
  await applyCapture(parseCaptureConfig([], {}), ex, collectLog().log);
  const commands = ex.calls.map((c) => c.argv.join(' '));
  assert.deepEqual(commands.filter((c) => c.includes('legacy-save')), ['iptables-legacy-save']);
  assert.ok(!commands.some((c) => c.startsWith('ip ')), commands.join('\n'));
});

test('files: lo without IPv6 (or no if_inet6 at all) turns IPv6 auto off', async () => {
  for (const inet6 of [if_inet6(eth0), undefined]) {
    const files: Record<string, string> = { '/proc/net/ip_tables_names': '', '/proc/net/ip6_tables_names': '' };
    if (inet6 !== undefined) files['/proc/net/if_inet6'] = inet6;
    const ex = withFiles(namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') }), files);
    const { log, lines } = collectLog();
    const result = await applyCapture(parseCaptureConfig([], {}), ex, log);
    assert.deepEqual(result.families, [4]);
    assert.ok(lines.includes('IPv6 auto: off, IPv6 is disabled on lo'));
  }
});

test('the iptables alternative\'s mode from the file `iptables` runs, when it is a multi-call binary; else `iptables --version`', async () => {
  for (const [program, backend, ran] of [
    ['/usr/sbin/xtables-legacy-multi', 'legacy', false],
    ['/usr/sbin/xtables-nft-multi', 'nft', false],
    ['/usr/sbin/iptables-wrapper', 'nft', true],
    [undefined, 'nft', true],
  ] as const) {
    const inner = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') });
    const ex: Executor = { run: (argv, options) => inner.run(argv, options), resolveProgram: () => Promise.resolve(program) };
    const { log, lines } = collectLog();
    const result = await applyCapture(parseCaptureConfig(['--ipv6', 'off'], {}), ex, log).catch(() => undefined);
    assert.equal(commands(inner).includes('iptables --version'), ran, String(program));
    if (program !== undefined && !ran) assert.ok(lines.includes(`backend: ${backend} (no rules installed; "iptables → ${program} (${backend === 'nft' ? 'nf_tables' : 'legacy'})" is ${backend === 'nft' ? 'nf_tables' : 'legacy'})`), lines.join('\n'));
    if (backend === 'nft') assert.equal(result?.backend.backend, 'nft');
  }
});

test('families given and no file reads (the CNI plugin): ::6 is added in the read wave, no `ip` read', async () => {
  const ex = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') });
  const { log, lines } = collectLog();
  await applyCapture(parseCaptureConfig([], {}), ex, log, { families: [4, 6] });
  assert.deepEqual(commands(ex), [
    'iptables-legacy-save', 'ip6tables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save', 'iptables --version', 'ip -6 addr add ::6/128 dev lo',
    'iptables-nft-restore --noflush', 'ip6tables-nft-restore --noflush',
  ]);
  assert.ok(lines.includes('::6/128 on lo: added'));
  const again = namespace({ saves: { 4: saveOf(4), 6: saveOf(6) }, lo: loWith('::1/128', '::6/128'), addSource: failed('Error: ipv6: address already assigned.', 2) });
  const repeat = collectLog();
  assert.deepEqual((await applyCapture(parseCaptureConfig([], {}), again, repeat.log, { families: [4, 6] })).changed, []);
  assert.ok(repeat.lines.includes('::6/128 on lo: present'));
});

test('a read failing after ::6 was added in the read wave takes ::6 away again', async () => {
  const inner = namespace({ saves: { 4: '', 6: '' }, lo: loWith('::1/128') });
  const ex: Executor = { run: (argv, options) => (argv[0] === 'ip6tables-legacy-save' ? Promise.resolve(failed('boom')) : inner.run(argv, options)) };
  await assert.rejects(applyCapture(parseCaptureConfig(['--backend', 'legacy'], {}), ex, collectLog().log, { families: [4, 6] }), /ip6tables-legacy-save failed \(exit 1\): boom/);
  assert.equal(commands(inner).at(-1), 'ip -6 addr del ::6/128 dev lo');
  assert.ok(!commands(inner).some((c) => c.includes('-restore')));
});
