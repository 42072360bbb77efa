// apply/cleanup transactions computed from real iptables-save samples (fixtures captured from a
// network namespace), through the recording executor: golden transcripts of exactly what runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCapture } from '../../init/apply/apply.js';
import { cleanupCapture } from '../../init/apply/cleanup.js';
import { parseCaptureConfig } from '../../init/config.js';
import { RuntimeError } from '../../init/errors.js';
import { RecordingExecutor, ok, type CommandResult } from '../../init/exec/executor.js';
import { assertGolden } from '../support/golden.js';
import { collectLog, fixture, transcript } from './support.js';

const loWithV6 = ok('1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n');

interface World {
  v4: string;
  v6: string;
  failRestore?: 4 | 6;
  /** v4 save text after a successful v4 restore (lets rollback read the new state). */
  v4After?: string;
}

function executorFor(world: World): RecordingExecutor {
  let v4 = world.v4;
  return new RecordingExecutor((argv, _input): CommandResult | undefined => {
    const cmd = argv.join(' ');
    if (cmd === 'iptables --version') return ok('iptables v1.8.9 (legacy)\n');
    if (/^iptables-(legacy|nft)-save$/.test(cmd)) return ok(cmd.includes('legacy') ? v4 : '');
    if (/^ip6tables-(legacy|nft)-save$/.test(cmd)) return ok(cmd.includes('legacy') ? world.v6 : '');
    if (cmd === 'ip -6 -o addr show dev lo') return loWithV6;
    if (cmd === 'ip -6 addr add ::6/128 dev lo') return ok();
    const restore = /^(ip6?)tables-\w+-restore --noflush$/.exec(cmd);
    if (restore !== null) {
      const family = restore[1] === 'ip6' ? 6 : 4;
      if (world.failRestore === family) return { exitCode: 1, stdout: '', stderr: 'iptables-restore: line 3 failed' };
      if (family === 4 && world.v4After !== undefined) v4 = world.v4After;
      return ok();
    }
    return undefined;
  });
}

test('apply on a host with only foreign rules: one transaction per family, foreign rules untouched', async () => {
  const ex = executorFor({ v4: fixture('foreign-only.save'), v6: '' });
  const { log, lines } = collectLog();
  const result = await applyCapture(parseCaptureConfig(['--ipv6', 'on'], {}), ex, log);
  assert.deepEqual(result.changed, [4, 6]);
  assert.equal(result.backend.backend, 'legacy');
  const restores = ex.calls.filter((c) => c.argv[0]?.endsWith('-restore'));
  assert.equal(restores.length, 2);
  assert.doesNotMatch(restores[0]?.input ?? '', /DOCKER|MASQUERADE|9999/);
  assert.ok(lines.some((l) => l.startsWith('backend: legacy (existing rules win')));
  assertGolden('init/apply-foreign-only.txt', transcript(ex.calls));
});

test('apply of the same config again is a no-op: no restore runs', async () => {
  const ex = executorFor({ v4: fixture('default-installed.save'), v6: '' });
  const result = await applyCapture(parseCaptureConfig(['--ipv6', 'off', '--backend', 'legacy'], {}), ex, collectLog().log);
  assert.deepEqual(result.changed, []);
  assert.equal(ex.calls.filter((c) => c.argv[0]?.endsWith('-restore')).length, 0);
});

test('apply of a different config converges: refill, stale chains and duplicate jumps removed', async () => {
  const ex = executorFor({ v4: fixture('old-config-installed.save'), v6: '' });
  await applyCapture(parseCaptureConfig(['--ipv6', 'off', '--backend', 'legacy'], {}), ex, collectLog().log);
  const input = ex.calls.find((c) => c.argv[0] === 'iptables-legacy-restore')?.input ?? '';
  assert.match(input, /^-X PILLION_DNS$/m);
  assert.match(input, /^-X PILLION_OLD$/m);
  assert.match(input, /^-D PREROUTING -j PILLION_OLD$/m);
  assert.equal(input.match(/^-D OUTPUT -p tcp -m comment --comment "pillion: outbound capture" -j PILLION_OUTPUT$/gm)?.length, 1, 'one duplicate jump deleted, one kept');
  assert.doesNotMatch(input, /DOCKER|MASQUERADE/);
  assertGolden('init/apply-converge-old-config.txt', transcript(ex.calls));
});

test('a failed IPv6 transaction rolls IPv4 back to what was installed before', async () => {
  const ex = executorFor({ v4: fixture('old-config-installed.save'), v6: '', failRestore: 6, v4After: fixture('default-installed.save') });
  const { log, lines } = collectLog();
  await assert.rejects(applyCapture(parseCaptureConfig(['--ipv6', 'on', '--backend', 'legacy'], {}), ex, log), (e: unknown) => {
    assert.ok(e instanceof RuntimeError);
    assert.match(e.message, /ip6tables-legacy-restore --noflush rejected the IPv6 transaction \(exit 1\): iptables-restore: line 3 failed/);
    return true;
  });
  assert.ok(lines.includes('IPv4: rolled back to the previous rules'));
  const v4Restores = ex.calls.filter((c) => c.argv[0] === 'iptables-legacy-restore');
  assert.equal(v4Restores.length, 2, 'the apply and the rollback');
  assert.match(v4Restores[1]?.input ?? '', /^-A PILLION_DNS /m);
  assertGolden('init/apply-rollback.txt', transcript(ex.calls));
});

test('a missing restore binary is a runtime failure before anything changes', async () => {
  const ex = new RecordingExecutor((argv) => (argv[0] === 'iptables-nft-save' ? ok('') : undefined));
  await assert.rejects(applyCapture(parseCaptureConfig(['--ipv6', 'off', '--backend', 'nft'], {}), ex, collectLog().log), /iptables-nft-restore --noflush rejected the IPv4 transaction \(exit 127\)/);
});

test('cleanup deletes exactly Pillion jumps and chains, in both backends under auto', async () => {
  const ex = executorFor({ v4: fixture('old-config-installed.save'), v6: '' });
  const n = await cleanupCapture({ backend: 'auto', ipv6: 'auto' }, ex, collectLog().log);
  assert.equal(n, 1);
  const input = ex.calls.find((c) => c.argv[0] === 'iptables-legacy-restore')?.input ?? '';
  assert.doesNotMatch(input, /^-A /m, 'cleanup adds nothing');
  assert.doesNotMatch(input, /DOCKER|MASQUERADE/);
  assertGolden('init/cleanup-old-config.txt', transcript(ex.calls));
});

test('cleanup with nothing installed succeeds without running restore', async () => {
  const ex = executorFor({ v4: fixture('foreign-only.save'), v6: '' });
  assert.equal(await cleanupCapture({ backend: 'legacy', ipv6: 'on' }, ex, collectLog().log), 0);
  assert.equal(ex.calls.filter((c) => c.argv[0]?.endsWith('-restore')).length, 0);
});
