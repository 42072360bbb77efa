import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideBackend, resolveBackend } from '../../init/backend/detect.js';
import { resolveFamilies } from '../../init/backend/families.js';
import { RecordingExecutor, ok } from '../../init/exec/executor.js';

const cases: [string, Parameters<typeof decideBackend>[0], 'legacy' | 'nft', RegExp][] = [
  ['legacy rules win over an nft alternative', { legacyRules: 12, nftRules: 0, iptablesVersion: 'iptables v1.8.9 (nf_tables)' }, 'legacy', /existing rules win: 12 legacy/],
  ['nft rules win over a legacy alternative', { legacyRules: 0, nftRules: 3, iptablesVersion: 'iptables v1.8.7 (legacy)' }, 'nft', /existing rules win/],
  ['more rules wins when both have some', { legacyRules: 5, nftRules: 40, iptablesVersion: undefined }, 'nft', /5 legacy rule\(s\), 40 nft/],
  ['tie goes to nft', { legacyRules: 4, nftRules: 4, iptablesVersion: 'iptables v1.8.7 (legacy)' }, 'nft', /existing rules win/],
  ['no rules: follow the legacy alternative', { legacyRules: 0, nftRules: 0, iptablesVersion: 'iptables v1.8.7 (legacy)\n' }, 'legacy', /is legacy/],
  ['no rules: follow the nf_tables alternative', { legacyRules: 0, nftRules: 0, iptablesVersion: 'iptables v1.8.9 (nf_tables)' }, 'nft', /is nf_tables/],
  ['only legacy tools usable', { legacyRules: 0, nftRules: undefined, iptablesVersion: undefined }, 'legacy', /only the legacy tools/],
  ['nothing known', { legacyRules: undefined, nftRules: undefined, iptablesVersion: undefined }, 'nft', /modern default/],
];

for (const [name, evidence, backend, reason] of cases) {
  test(`backend: ${name}`, () => {
    const d = decideBackend(evidence);
    assert.equal(d.backend, backend);
    assert.match(d.reason, reason);
  });
}

test('resolveBackend counts rules of both families with the save tools', async () => {
  const ex = new RecordingExecutor((argv) => {
    if (argv[0] === 'iptables-legacy-save') return ok('*filter\n-A INPUT -j ACCEPT\nCOMMIT\n');
    if (argv[0] === 'ip6tables-legacy-save') return ok('*filter\n-A INPUT -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n');
    if (argv[0] === 'iptables-nft-save' || argv[0] === 'ip6tables-nft-save') return ok('');
    if (argv.join(' ') === 'iptables --version') return ok('iptables v1.8.9 (nf_tables)');
    return undefined;
  });
  const d = await resolveBackend('auto', ex);
  assert.equal(d.backend, 'legacy');
  assert.match(d.reason, /3 legacy rule\(s\), 0 nft/);
  assert.deepEqual((await resolveBackend('nft', ex)).reason, 'requested with --backend');
});

test('ipv6 auto: off when ip6tables cannot run or lo has no IPv6', async () => {
  const failing = new RecordingExecutor(() => undefined);
  assert.deepEqual((await resolveFamilies('auto', 'nft', failing)).families, [4]);
  const noLo = new RecordingExecutor((argv) => (argv[0] === 'ip6tables-nft-save' ? ok('') : argv[0] === 'ip' ? ok('') : undefined));
  const d = await resolveFamilies('auto', 'nft', noLo);
  assert.deepEqual(d.families, [4]);
  assert.match(d.reason, /disabled on lo/);
  const yes = new RecordingExecutor((argv) => (argv[0] === 'ip6tables-nft-save' ? ok('') : argv[0] === 'ip' ? ok('1: lo    inet6 ::1/128 scope host\n') : undefined));
  assert.deepEqual((await resolveFamilies('auto', 'nft', yes)).families, [4, 6]);
  assert.deepEqual((await resolveFamilies('on', 'nft', failing)).families, [4, 6]);
});
