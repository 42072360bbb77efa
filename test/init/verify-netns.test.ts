// verify against the real kernel: in a namespace this test creates, apply then verify must pass
// (exit 0); in a fresh namespace without rules verify must fail (exit 126) naming the direction.
// Also checks, in the same namespaces, that apply is idempotent and cleanup leaves nothing.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requirePrivileges } from '../support/privileges.js';
import { pillionInitBin } from '../support/paths.js';
import { applyCapture } from '../../init/apply/apply.js';
import { parseCaptureConfig } from '../../init/config.js';
import { SpawnExecutor } from '../../init/exec/spawn-executor.js';
import type { Executor } from '../../init/exec/executor.js';
import { planCaptureRules } from '../../init/plan/planner.js';
import { desiredTables } from '../../init/plan/render.js';
import { buildConvergeTransaction } from '../../init/state/converge.js';
import { parseIptablesSave } from '../../init/state/iptables-save.js';
import { makePodNamespace, must, sh, type RunResult } from './netns-support.js';

/** A pod-like namespace: 10.199.<octet>.5 and fd99:<octet>::5. */
function makeNamespace(t: TestContext, name: string, octet: number): void {
  makePodNamespace(t, name, { ipv4: `10.199.${octet}.5`, ipv6: `fd99:${octet}::5` });
}

function pillionInit(ns: string, args: string[]): RunResult {
  return sh(['ip', 'netns', 'exec', ns, process.execPath, pillionInitBin, ...args]);
}

const needs = ['iptables-legacy-restore', 'iptables-nft-restore', 'ip6tables-legacy-restore', 'ip6tables-nft-restore'];

for (const [i, backend] of (['legacy', 'nft'] as const).entries()) {
  test(`verify passes after apply, apply is idempotent, cleanup removes all (${backend})`, (t) => {
    if (!requirePrivileges(t, needs)) return;
    const ns = `pv-${process.pid}-${backend}`;
    makeNamespace(t, ns, 10 + i);
    const apply = pillionInit(ns, ['apply', '--backend', backend, '--ipv6', 'on']);
    assert.equal(apply.status, 0, apply.stderr);
    const save = (): string => must(['ip', 'netns', 'exec', ns, `iptables-${backend}-save`, '-t', 'nat']).replace(/^#.*\n/gm, '');
    const first = save();
    assert.equal(pillionInit(ns, ['--backend', backend, '--ipv6', 'on']).status, 0);
    assert.equal(save(), first, 'second apply changes nothing');
    assert.equal(first.match(/-j PILLION_OUTPUT$/gm)?.length, 1, 'exactly one OUTPUT jump');

    const verify = pillionInit(ns, ['verify', '--ipv6', 'on']);
    assert.equal(verify.status, 0, `${verify.stdout}${verify.stderr}`);
    assert.match(verify.stdout, /^verify: ok: outbound IPv4 .*inbound IPv4 .*outbound IPv6 .*inbound IPv6 .*\n$/);

    const cleanup = pillionInit(ns, ['cleanup', '--backend', backend]);
    assert.equal(cleanup.status, 0, cleanup.stderr);
    assert.doesNotMatch(save(), /PILLION/);
    assert.doesNotMatch(must(['ip', 'netns', 'exec', ns, `ip6tables-${backend}-save`, '-t', 'nat']), /PILLION/);
    const after = pillionInit(ns, ['verify', '--ipv6', 'on']);
    assert.equal(after.status, 126, 'after cleanup nothing is captured any more');
  });
}

test('verify in a fresh namespace without rules exits 126 naming the failed directions', (t) => {
  if (!requirePrivileges(t, needs)) return;
  const ns = `pv-${process.pid}-fresh`;
  makeNamespace(t, ns, 20);
  const r = pillionInit(ns, ['verify', '--ipv6', 'off', '--timeout-ms', '500']);
  assert.equal(r.status, 126, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^verify: FAILED outbound and inbound redirection: outbound IPv4 .* did not reach proxy port 15001/);
});

/** The real executor, but every command runs inside `ns`; optionally corrupting IPv6 restores. */
function nsExecutor(ns: string, sabotageV6: boolean): Executor {
  const real = new SpawnExecutor();
  return {
    run: (argv, options = {}) => {
      const input = sabotageV6 && argv[0]?.startsWith('ip6tables-') && argv[0].endsWith('-restore') && options.input !== undefined
        ? options.input.replace(/COMMIT\n$/, '-A PILLION_OUTPUT -j PILLION_NO_SUCH_CHAIN\nCOMMIT\n')
        : options.input;
      return real.run(['ip', 'netns', 'exec', ns, ...argv], { ...options, ...(input !== undefined ? { input } : {}) });
    },
  };
}

test('a rejected transaction leaves the previous rules untouched; a failed IPv6 apply rolls IPv4 back', async (t) => {
  if (!requirePrivileges(t, needs)) return;
  const ns = `pv-${process.pid}-atomic`;
  makeNamespace(t, ns, 30);
  const saveV4 = (): string => must(['ip', 'netns', 'exec', ns, 'iptables-legacy-save', '-t', 'nat']).replace(/^#.*\n/gm, '');
  const saveV6 = (): string => must(['ip', 'netns', 'exec', ns, 'ip6tables-legacy-save', '-t', 'nat']).replace(/^#.*\n/gm, '');
  const log = (): undefined => undefined;
  await applyCapture(parseCaptureConfig(['--backend', 'legacy', '--ipv6', 'on'], {}), nsExecutor(ns, false), log);
  const v4Before = saveV4();
  const v6Before = saveV6();

  // 1. A transaction that is valid up to its last line: restore must commit none of it.
  const plan = planCaptureRules(parseCaptureConfig(['--ipv6', 'off', '--redirect-dns'], {}));
  const good = buildConvergeTransaction(parseIptablesSave(v4Before), desiredTables(plan, 4));
  assert.match(good, /PILLION_DNS/);
  const bad = good.replace(/COMMIT\n$/, '-A PILLION_OUTPUT -j PILLION_NO_SUCH_CHAIN\nCOMMIT\n');
  const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-legacy-restore', '--noflush'], { input: bad, encoding: 'utf8' });
  assert.notEqual(r.status, 0, 'the kernel tools rejected the transaction');
  assert.equal(saveV4(), v4Before, 'nothing of the rejected transaction was applied');

  // 2. apply of a new config whose IPv6 transaction fails: IPv4 is rolled back to before.
  await assert.rejects(
    applyCapture(parseCaptureConfig(['--backend', 'legacy', '--ipv6', 'on', '--redirect-dns'], {}), nsExecutor(ns, true), log),
    /rejected the IPv6 transaction/,
  );
  assert.equal(saveV4(), v4Before, 'IPv4 rolled back');
  assert.equal(saveV6(), v6Before, 'IPv6 untouched');
});
