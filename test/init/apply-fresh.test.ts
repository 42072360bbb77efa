// apply's first try in a namespace without Pillion's chains (init/apply/fresh.ts), through an
// executor whose tables are the restore model (a test double) and whose /proc/net files are given:
// no save runs when the back end and families are known without one; wherever one of Pillion's
// chains already is, the try changes nothing in the end and the ordinary path converges; a failure
// after it leaves every family as it was. The real kernel: fresh-netns.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCapture } from '../../init/apply/apply.js';
import { parseCaptureConfig } from '../../init/config.js';
import { HalfAppliedError } from '../../init/errors.js';
import { ok, type CommandResult, type Executor, type RecordedCall } from '../../init/exec/executor.js';
import { planCaptureRules } from '../../init/plan/planner.js';
import { desiredTables, renderRestore } from '../../init/plan/render.js';
import { alwaysPlanned } from '../../init/plan/chains.js';
import { buildFreshTransaction, countRuleChanges } from '../../init/state/converge.js';
import { assertGolden } from '../support/golden.js';
import { RestoreModel } from './restore-model.js';
import { collectLog } from './support.js';

interface Options {
  /** /proc/net files; absent ones do not exist. Without this, the executor reads no file. */
  files?: Record<string, string>;
  /** What `iptables` resolves to. */
  iptables?: string;
  /** ip6tables does not work here: its saves and restores fail. */
  noIp6tables?: boolean;
  addSource?: CommandResult;
  /** Every save fails (so does a rollback, which reads first). */
  failSaves?: boolean;
}

const lo1 = '00000000000000000000000000000001 01 80 10 80       lo';
const lo6 = '00000000000000000000000000000006 01 80 00 80       lo';
const freshFiles = { '/proc/net/ip_tables_names': '', '/proc/net/ip6_tables_names': '', '/proc/net/if_inet6': `${lo1}\n` };

/** A namespace whose nft tables are the restore model and whose legacy back end has no table. */
class Namespace implements Executor {
  readonly calls: RecordedCall[] = [];
  readonly nft = { 4: new RestoreModel(), 6: new RestoreModel() };
  readonly legacy = { 4: new RestoreModel(), 6: new RestoreModel() };
  constructor(private readonly options: Options = { files: freshFiles }) {}

  run(argv: readonly string[], runOptions: { input?: string } = {}): Promise<CommandResult> {
    this.calls.push({ argv: [...argv], input: runOptions.input });
    const cmd = argv.join(' ');
    const tool = /^(ip6?)tables-(nft|legacy)-(save|restore)/.exec(cmd);
    if (tool !== null) {
      const family = tool[1] === 'ip6' ? 6 : 4;
      const model = this[tool[2] === 'nft' ? 'nft' : 'legacy'][family];
      if (family === 6 && this.options.noIp6tables === true) return Promise.resolve({ exitCode: 1, stdout: '', stderr: "can't initialize ip6tables table `nat': Table does not exist\n" });
      if (tool[3] === 'save') return Promise.resolve(this.options.failSaves === true ? { exitCode: 4, stdout: '', stderr: 'Could not fetch rule set generation id\n' } : ok(model.save()));
      return Promise.resolve(model.restore(runOptions.input ?? ''));
    }
    if (cmd === 'iptables --version') return Promise.resolve(ok('iptables v1.8.9 (nf_tables)\n'));
    if (cmd === 'ip -6 addr add ::6/128 dev lo') return Promise.resolve(this.options.addSource ?? ok());
    if (cmd === 'ip -6 addr del ::6/128 dev lo') return Promise.resolve(ok());
    if (cmd === 'ip -6 -o addr show dev lo') return Promise.resolve(ok('1: lo    inet6 ::1/128 scope host\n'));
    return Promise.resolve({ exitCode: 127, stdout: '', stderr: `${argv[0] ?? ''}: not found (test namespace)` });
  }

  get readFiles(): Executor['readFiles'] {
    const files = this.options.files;
    return files === undefined ? undefined : (paths) => Promise.resolve(paths.map((path) => files[path]));
  }

  resolveProgram(): Promise<string | undefined> {
    return Promise.resolve(this.options.iptables);
  }

  commands(): string[] {
    return this.calls.map((c) => c.argv.join(' '));
  }

  /** Both families' nft tables. */
  state(): string {
    return `${this.nft[4].save()}--\n${this.nft[6].save()}`;
  }
}

const defaults = parseCaptureConfig([], {});

test('the fresh transaction creates each planned chain with -N and deletes nothing (golden)', () => {
  for (const [name, argv] of [['defaults', []], ['dns-redirect', ['--redirect-dns']]] as const) {
    const desired = desiredTables(planCaptureRules(parseCaptureConfig([...argv], {})), 4);
    const text = buildFreshTransaction(desired) ?? '';
    assertGolden(`init/fresh-${name}.txt`, text);
    assert.deepEqual(text.match(/^-N \S+$/gm)?.map((l) => l.slice(3)), [...(desired[0]?.chains.keys() ?? [])]);
    assert.doesNotMatch(text, /^(-X|-D|:)/m);
  }
  assert.equal(countRuleChanges(buildFreshTransaction(desiredTables(planCaptureRules(defaults), 4)) ?? ''), 20);
});

test('every plan has the chains the first try relies on (plan/chains.ts), and a plan without them gets no fresh transaction', () => {
  for (const argv of [[], ['--redirect-dns'], ['--inbound-ports', '80', '--outbound-cidrs', '10.0.0.0/8', '--outbound-ports', '443'], ['--inbound-ports', '8080'], ['--exclude-outbound-cidrs', '10.0.0.0/8', '--exclude-outbound-ports', '3306'], ['--ipv6', 'on', '--exclude-interfaces', 'eth1']]) {
    const plan = planCaptureRules(parseCaptureConfig(argv, {}));
    for (const family of plan.families) {
      const desired = desiredTables(plan, family.family);
      assert.ok(alwaysPlanned.every((c) => desired[0]?.chains.has(c)), argv.join(' '));
      assert.notEqual(buildFreshTransaction(desired), undefined);
    }
  }
  const [nat] = desiredTables(planCaptureRules(defaults), 4);
  assert.ok(nat !== undefined);
  const chainsWithout = new Map([...nat.chains].filter(([name]) => name !== 'PILLION_INBOUND'));
  assert.equal(buildFreshTransaction([{ ...nat, chains: chainsWithout }]), undefined);
  assert.equal(buildFreshTransaction([{ ...nat, table: 'mangle' }]), undefined);
});

test('a new namespace: no save runs, each family is one transaction, the state is what the ordinary path installs', async () => {
  const fresh = new Namespace();
  const { log, lines } = collectLog();
  const result = await applyCapture(defaults, fresh, log);
  assert.deepEqual(result.changed, [4, 6]);
  assert.equal(result.backend.backend, 'nft');
  assert.deepEqual(fresh.commands(), ['iptables --version', 'ip6tables-nft-restore --noflush', 'iptables-nft-restore --noflush', 'ip -6 addr add ::6/128 dev lo']);
  assert.deepEqual(lines, [
    'backend: nft (no legacy table; "iptables v1.8.9 (nf_tables)" is nf_tables)',
    'IPv6 auto: on, ip6tables works (its transaction went in) and IPv6 is enabled on lo',
    "IPv6: applied 20 rule change(s) in one transaction, creating Pillion's chains",
    "IPv4: applied 20 rule change(s) in one transaction, creating Pillion's chains",
    '::6/128 on lo: added',
  ]);

  const ordinary = new Namespace({});
  await applyCapture(defaults, ordinary, collectLog().log);
  assert.ok(ordinary.commands().includes('iptables-nft-save'), 'without files: the ordinary path');
  assert.equal(fresh.state(), ordinary.state());
});

test('again in the same namespace: the try is refused and changes nothing, the ordinary path finds nothing to do', async () => {
  const ns = new Namespace({ files: { ...freshFiles, '/proc/net/if_inet6': `${lo1}\n${lo6}\n` } });
  await applyCapture(defaults, ns, collectLog().log);
  const before = ns.state();
  const { log, lines } = collectLog();
  const result = await applyCapture(defaults, ns, log);
  assert.deepEqual(result.changed, []);
  assert.equal(ns.state(), before);
  assert.equal(lines[0], "IPv6: Pillion's chains are there already (the first try, for a new namespace, was refused); reading what is installed");
  assert.equal(ns.calls.filter((c) => c.argv[0]?.endsWith('-restore')).length, 2 + 1, 'the first apply\'s two, then one refused');
  assert.ok(lines.includes('IPv6: rules already as planned, nothing to do'), lines.join('\n'));
});

test('only IPv4 holds an older config (DNS redirect): IPv6 goes in and is taken back, then both converge to exactly the plan', async () => {
  const ns = new Namespace();
  assert.equal(ns.nft[4].restore(renderRestore(planCaptureRules(parseCaptureConfig(['--redirect-dns'], {})), 4)).exitCode, 0);
  const { log, lines } = collectLog();
  const result = await applyCapture(defaults, ns, log);
  assert.deepEqual(result.changed, [4, 6]);
  assert.ok(lines.includes('IPv6: rolled back to the previous rules'), lines.join('\n'));
  assert.ok(lines.includes("IPv4: Pillion's chains are there already (the first try, for a new namespace, was refused); reading what is installed"), lines.join('\n'));

  const clean = new Namespace();
  await applyCapture(defaults, clean, collectLog().log);
  assert.equal(ns.state(), clean.state(), 'no PILLION_DNS, no jump to it, one copy of each jump');
});

test('::6 failing after both transactions: both families are taken back to no Pillion chain, the error stands', async () => {
  const ns = new Namespace({ files: freshFiles, addSource: { exitCode: 2, stdout: '', stderr: 'RTNETLINK answers: Operation not permitted\n' } });
  const empty = new Namespace();
  const { log, lines } = collectLog();
  await assert.rejects(applyCapture(defaults, ns, log), /ip -6 addr add ::6\/128 dev lo failed: RTNETLINK answers: Operation not permitted/);
  assert.ok(lines.includes('IPv4: rolled back to the previous rules') && lines.includes('IPv6: rolled back to the previous rules'), lines.join('\n'));
  assert.doesNotMatch(ns.state(), /PILLION_/);
  // Under nft the built-in chains the transaction made stay, empty (see apply-netns.test.ts).
  assert.equal(ns.state().replace(/^(?!-A ).*\n/gm, ''), empty.state().replace(/^(?!-A ).*\n/gm, ''));
});

test('IPv6 auto where ip6tables does not work: its try fails first, nothing to take back; the ordinary path turns IPv6 off and applies IPv4', async () => {
  const ns = new Namespace({ files: freshFiles, noIp6tables: true });
  const { log, lines } = collectLog();
  const result = await applyCapture(defaults, ns, log);
  assert.deepEqual(result.families, [4]);
  assert.deepEqual(result.changed, [4]);
  assert.match(lines[0] ?? '', /^IPv6: the first try, for a new namespace, failed \(ip6tables-nft-restore --noflush rejected the IPv6 transaction \(exit 1\): can't initialize ip6tables table `nat': Table does not exist\); trying the ordinary way$/);
  assert.ok(!lines.some((l) => l.includes('rolled back')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('IPv6 auto: off, ip6tables-nft-save failed')), lines.join('\n'));
  assert.ok(!ns.commands().some((c) => c.startsWith('ip -6 addr')), 'IPv6 off: no ::6');
  assert.match(ns.nft[4].save(), /-A OUTPUT -p tcp -m comment --comment "pillion: outbound capture" -j PILLION_OUTPUT/);
});

test('no try where a save could change the answer: a legacy table, the legacy alternative, or no files to read', async () => {
  for (const options of [
    { files: { ...freshFiles, '/proc/net/ip_tables_names': 'nat\n' } },
    { files: freshFiles, iptables: '/usr/sbin/xtables-legacy-multi' },
    {},
  ]) {
    const ns = new Namespace(options);
    const result = await applyCapture(parseCaptureConfig(['--ipv6', 'off'], {}), ns, collectLog().log);
    assert.deepEqual(result.changed, [4]);
    assert.ok(!ns.calls.some((c) => /^-N /m.test(c.input ?? '')), JSON.stringify(options));
    assert.ok(ns.commands().some((c) => /^iptables-(nft|legacy)-save$/.test(c)), `the ordinary path: ${ns.commands().join(', ')}`);
  }
  // --backend legacy: its state is read from the files without a save anyway.
  const legacy = new Namespace();
  const result = await applyCapture(parseCaptureConfig(['--backend', 'legacy', '--ipv6', 'off'], {}), legacy, collectLog().log);
  assert.deepEqual(result.changed, [4]);
  assert.deepEqual(legacy.commands(), ['iptables-legacy-restore --noflush']);
});

test('lo without IPv6 and --ipv6 on: ::6 first; a refused try takes it away again, and the ordinary path puts it back', async () => {
  const ns = new Namespace({ files: { ...freshFiles, '/proc/net/if_inet6': '' } });
  assert.equal(ns.nft[6].restore(renderRestore(planCaptureRules(parseCaptureConfig(['--ipv6', 'on'], {})), 6)).exitCode, 0);
  const { log, lines } = collectLog();
  const result = await applyCapture(parseCaptureConfig(['--ipv6', 'on'], {}), ns, log);
  assert.deepEqual(result.changed, [4]);
  assert.deepEqual(ns.commands().filter((c) => c.startsWith('ip -6 addr')), ['ip -6 addr add ::6/128 dev lo', 'ip -6 addr del ::6/128 dev lo', 'ip -6 addr add ::6/128 dev lo']);
  assert.ok(lines.includes('::6/128 on lo: removed again') && lines.includes('::6/128 on lo: added'), lines.join('\n'));
});

test('a failure whose taking back fails too says so, with both failures: the error is a HalfAppliedError', async () => {
  const ns = new Namespace({ files: freshFiles, failSaves: true, addSource: { exitCode: 2, stdout: '', stderr: 'RTNETLINK answers: Operation not permitted\n' } });
  const { log, lines } = collectLog();
  await assert.rejects(applyCapture(defaults, ns, log), (e: unknown) => {
    assert.ok(e instanceof HalfAppliedError);
    assert.match(e.message, /^ip -6 addr add ::6\/128 dev lo failed: RTNETLINK answers: Operation not permitted; taking back what had changed failed too, so the rules may be half applied \(see the log\)$/);
    return true;
  });
  assert.ok(lines.some((l) => l.startsWith('IPv6: ROLLBACK FAILED')) && lines.some((l) => l.startsWith('IPv4: ROLLBACK FAILED')), lines.join('\n'));
});

test('--backend nft with IPv6 off: one restore, nothing else', async () => {
  const ns = new Namespace();
  const result = await applyCapture(parseCaptureConfig(['--backend', 'nft', '--ipv6', 'off'], {}), ns, collectLog().log);
  assert.deepEqual(result.changed, [4]);
  assert.deepEqual(ns.commands(), ['iptables-nft-restore --noflush']);
});
