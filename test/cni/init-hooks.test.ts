// The library hooks CNI mode needs in init/: families given by the caller, a failed apply that
// also takes back the ::6 it added, and inspectCapture (CHECK's comparison), through the
// recording executor.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyCapture, inspectCapture, parseCaptureConfig, planCaptureRules, renderRestore, type CommandResult } from '../../init/index.js';
// The test double is no part of the library's face.
import { RecordingExecutor } from '../../init/exec/executor.js';

const ok = (stdout = ''): CommandResult => ({ exitCode: 0, stdout, stderr: '' });

/** A namespace whose nft saves print `v4`/`v6` (`v4After` once IPv4 was restored); restores succeed unless `failV6`. */
function world(options: { v4?: string; v6?: string; failV6?: boolean; loHas6?: boolean; v4After?: string } = {}): RecordingExecutor {
  let v4 = options.v4 ?? '';
  return new RecordingExecutor((argv): CommandResult | undefined => {
    const cmd = argv.join(' ');
    if (cmd === 'iptables --version') return ok('iptables v1.8.9 (nf_tables)\n');
    if (cmd === 'iptables-nft-save') return ok(v4);
    if (cmd === 'ip6tables-nft-save') return ok(options.v6 ?? '');
    if (/^ip6?tables-legacy-save$/.test(cmd)) return ok('');
    if (cmd === 'ip -6 -o addr show dev lo') return ok(options.loHas6 === true ? '1: lo    inet6 ::6/128 scope global \n' : '1: lo    inet6 ::1/128 scope host \n');
    if (cmd === 'ip -6 addr add ::6/128 dev lo') return options.loHas6 === true ? { exitCode: 2, stdout: '', stderr: 'RTNETLINK answers: File exists\n' } : ok();
    if (cmd === 'ip -6 addr del ::6/128 dev lo') return ok();
    if (cmd === 'iptables-nft-restore --noflush') {
      v4 = options.v4After ?? v4;
      return ok();
    }
    if (cmd === 'ip6tables-nft-restore --noflush') return options.failV6 === true ? { exitCode: 2, stdout: '', stderr: 'line 2 failed' } : ok();
    return undefined;
  });
}

test('applyCapture with families [4] programs IPv4 only and never asks the host about IPv6', async () => {
  const ex = world();
  const result = await applyCapture(parseCaptureConfig([], {}), ex, () => undefined, { families: [4] });
  assert.deepEqual(result.families, [4]);
  assert.deepEqual(result.changed, [4]);
  const commands = ex.calls.map((c) => c.argv.join(' '));
  assert.ok(!commands.some((c) => c.startsWith('ip ') || c.startsWith('ip6tables-nft-restore')), commands.join('\n'));
});

test('a failed IPv6 restore rolls IPv4 back and removes the ::6 this apply added', async () => {
  const config = parseCaptureConfig([], {});
  const ex = world({ failV6: true, v4After: renderRestore(planCaptureRules(config), 4) });
  const lines: string[] = [];
  await assert.rejects(applyCapture(config, ex, (l) => lines.push(l), { families: [4, 6] }), /rejected the IPv6 transaction/);
  const commands = ex.calls.map((c) => c.argv.join(' '));
  assert.ok(commands.includes('ip -6 addr add ::6/128 dev lo'));
  assert.equal(commands.at(-1), 'ip -6 addr del ::6/128 dev lo');
  assert.equal(commands.filter((c) => c === 'iptables-nft-restore --noflush').length, 2, 'apply and rollback');
  assert.ok(lines.includes('IPv4: rolled back to the previous rules'));
});

test('a failed apply leaves a ::6 that was already there', async () => {
  const ex = world({ failV6: true, loHas6: true });
  await assert.rejects(applyCapture(parseCaptureConfig([], {}), ex, () => undefined, { families: [4, 6] }));
  assert.ok(!ex.calls.some((c) => c.argv.join(' ') === 'ip -6 addr del ::6/128 dev lo'));
});

test('inspectCapture: as planned when the plan is installed, not when flushed', async () => {
  const config = parseCaptureConfig([], {});
  const installed = renderRestore(planCaptureRules(config), 4);
  const asPlanned = await inspectCapture(config, world({ v4: installed }), [4]);
  assert.deepEqual(asPlanned.families.map((f) => [f.family, f.asPlanned]), [[4, true]]);
  const flushed = installed.split('\n').filter((l) => !l.startsWith('-A PILLION_OUTPUT')).join('\n');
  const inspection = await inspectCapture(config, world({ v4: flushed }), [4]);
  assert.equal(inspection.families[0]?.asPlanned, false);
  assert.match(inspection.families[0]?.missing ?? '', /^-A PILLION_OUTPUT /m);
  const empty = await inspectCapture(config, world(), [4, 6]);
  assert.deepEqual(empty.families.map((f) => f.asPlanned), [false, false]);
});
