// apply's concurrent transactions against the real kernel, both back ends: in a namespace that
// already holds unrelated nat rules in both families, a transaction the kernel rejects in one family
// leaves both families (and, under nft, the whole ruleset) exactly as they were, although the
// other family's transaction ran at the same time and succeeded; then a good apply installs both.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requirePrivileges } from '../support/privileges.js';
import { applyCapture } from '../../init/apply/apply.js';
import { parseCaptureConfig } from '../../init/config.js';
import type { CommandResult, Executor, RunOptions } from '../../init/exec/executor.js';
import { SpawnExecutor } from '../../init/exec/spawn-executor.js';
import { must } from './netns-support.js';
import { collectLog } from './support.js';

/** Runs every command inside `ns`; the apply's (not the rollback's) restore of `breakFamily` gets a rule the kernel rejects. */
function inside(ns: string, breakFamily?: 4 | 6): Executor {
  const real = new SpawnExecutor();
  return {
    run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
      let input = options.input;
      const restoreOf = /^(ip6?)tables-\w+-restore$/.exec(argv[0] ?? '');
      if (restoreOf !== null && (restoreOf[1] === 'ip6' ? 6 : 4) === breakFamily && /^-A PILLION_OUTPUT /m.test(input ?? '')) {
        input = (input ?? '').replace(/^COMMIT$/m, '-A PILLION_OUTPUT -j PILLION_NO_SUCH_CHAIN\nCOMMIT');
      }
      return real.run(['nsenter', `--net=/run/netns/${ns}`, '--', ...argv], { ...options, input });
    },
  };
}

// Someone else's rules in both built-in chains Pillion jumps from. (Under nft a rolled-back
// transaction takes out what it added, but a built-in chain it had to create stays, empty: nft
// only has the built-in chains someone used. The CNI plugin's namespaces are compared whole
// after a failed ADD in e2e/cni.)
const unrelated = '*nat\n:E2E_UNRELATED - [0:0]\n-A E2E_UNRELATED -p tcp -m tcp --dport 4444 -j RETURN\n-A PREROUTING -p tcp -j E2E_UNRELATED\n-A OUTPUT -p tcp -j E2E_UNRELATED\nCOMMIT\n';

for (const [i, backend] of (['legacy', 'nft'] as const).entries()) {
  test(`${backend}: a rejected transaction in either family leaves both as they were; then both apply together`, { timeout: 60_000 }, async (t: TestContext) => {
    if (!requirePrivileges(t, [`iptables-${backend}-restore`, `ip6tables-${backend}-restore`, 'nsenter', ...(backend === 'nft' ? ['nft'] : [])])) return;
    const ns = `pa-${process.pid}-${i}`;
    spawnSync('ip', ['netns', 'del', ns]);
    must(['ip', 'netns', 'add', ns]);
    t.after(() => spawnSync('ip', ['netns', 'del', ns]));
    must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    for (const family of [4, 6] as const) must(['nsenter', `--net=/run/netns/${ns}`, '--', `${family === 4 ? 'iptables' : 'ip6tables'}-${backend}-restore`, '--noflush'], unrelated);
    const snapshot = (): string => [
      must(['nsenter', `--net=/run/netns/${ns}`, '--', `iptables-${backend}-save`, '-t', 'nat']),
      must(['nsenter', `--net=/run/netns/${ns}`, '--', `ip6tables-${backend}-save`, '-t', 'nat']),
      backend === 'nft' ? must(['nsenter', `--net=/run/netns/${ns}`, '--', 'nft', 'list', 'ruleset']) : '',
      must(['ip', '-n', ns, '-6', '-o', 'addr', 'show', 'dev', 'lo']),
    ].join('\n').replace(/^#.*\n/gm, '');
    const before = snapshot();
    const config = parseCaptureConfig(['--backend', backend, '--ipv6', 'on'], {});

    for (const broken of [4, 6] as const) {
      const { log, lines } = collectLog();
      await assert.rejects(applyCapture(config, inside(ns, broken), log), new RegExp(`rejected the IPv${broken} transaction`));
      assert.ok(lines.includes(`IPv${broken === 4 ? 6 : 4}: rolled back to the previous rules`), lines.join('\n'));
      assert.equal(snapshot(), before, `IPv${broken} rejected: the namespace changed`);
    }

    const result = await applyCapture(config, inside(ns), collectLog().log);
    assert.deepEqual(result.changed, [4, 6]);
    const after = snapshot();
    assert.equal(after.match(/^-A OUTPUT -p tcp -m comment --comment "pillion: outbound capture" -j PILLION_OUTPUT$/gm)?.length, 2, after);
    assert.match(after, /-A OUTPUT -p tcp -j E2E_UNRELATED/);
    assert.match(after, /inet6 ::6\/128/);
    assert.deepEqual((await applyCapture(config, inside(ns), collectLog().log)).changed, [], 'a second apply changes nothing');
  });
}
