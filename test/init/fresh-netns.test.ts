// apply's first try (init/apply/fresh.ts) against the real kernel, nft forced, through the built
// CLI in namespaces this test creates: in a new namespace the plan goes in without a save and the
// tables are what the ordinary path installs elsewhere; where one of Pillion's chains is there
// already (an older config's, in one family only), the kernel refuses the try
// and the namespace ends with exactly the plan; a second apply changes nothing. With the back end
// and IPv6 left to auto-detection, the try runs where the `iptables` alternative is nf_tables.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parseCaptureConfig } from '../../init/config.js';
import { planCaptureRules } from '../../init/plan/planner.js';
import { renderRestore } from '../../init/plan/render.js';
import { requirePrivileges } from '../support/privileges.js';
import { pillionInitBin } from '../support/paths.js';
import { makePodNamespace, must, sh, type RunResult } from './netns-support.js';

const apply = (ns: string, args: readonly string[] = []): RunResult =>
  sh(['ip', 'netns', 'exec', ns, process.execPath, pillionInitBin, 'apply', '--backend', 'nft', '--ipv6', 'on', ...args]);

/** Both families' nft tables as iptables-save prints them, without its dated comments. */
function tables(ns: string): string {
  const save = (tool: string): string => must(['ip', 'netns', 'exec', ns, tool]).replace(/^#.*\n/gm, '');
  return `${save('iptables-nft-save')}--\n${save('ip6tables-nft-save')}`;
}

function namespace(t: TestContext, name: string, octet: number): string {
  const ns = `pfr-${process.pid}-${name}`;
  makePodNamespace(t, ns, { ipv4: `10.197.${octet}.5`, ipv6: `fd97:${octet}::5` });
  return ns;
}

const needs = ['iptables-nft-save', 'ip6tables-nft-save', 'iptables-nft-restore', 'ip6tables-nft-restore'];

test('nft: the first try in a new namespace installs what the ordinary path installs; a chain already there sends apply the ordinary way', (t) => {
  if (!requirePrivileges(t, needs)) return;
  const fresh = namespace(t, 'new', 1);
  const first = apply(fresh);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /IPv4: applied 20 rule change\(s\) in one transaction, creating Pillion's chains/);
  assert.match(first.stderr, /IPv6: applied 20 rule change\(s\) in one transaction, creating Pillion's chains/);
  const installed = tables(fresh);
  assert.match(installed, /^-A OUTPUT -p tcp -m comment --comment "pillion: outbound capture" -j PILLION_OUTPUT$/m);

  // An older config's rules in IPv4 only (the try goes IPv6 first), with a chain the default plan does not use.
  const older = namespace(t, 'older', 2);
  must(['ip', 'netns', 'exec', older, 'iptables-nft-restore', '--noflush'], renderRestore(planCaptureRules(parseCaptureConfig(['--redirect-dns'], {})), 4));
  const converged = apply(older);
  assert.equal(converged.status, 0, converged.stderr);
  assert.match(converged.stderr, /IPv4: Pillion's chains are there already \(the first try, for a new namespace, was refused\)/);
  assert.match(converged.stderr, /IPv6: rolled back to the previous rules/);
  assert.equal(tables(older), installed, 'exactly the plan: the older chain and its jump gone, one copy of each jump');

  // Back end and IPv6 left to apply, as the injector leaves them: with the nf_tables `iptables`
  // alternative the try runs (and its IPv6 transaction going in turns IPv6 auto on); with the
  // legacy one it does not.
  const auto = namespace(t, 'auto', 3);
  const detected = sh(['ip', 'netns', 'exec', auto, process.execPath, pillionInitBin, 'apply']);
  assert.equal(detected.status, 0, detected.stderr);
  if (/nf_tables/.test(must(['iptables', '--version']))) {
    assert.match(detected.stderr, /IPv6 auto: on, ip6tables works \(its transaction went in\) and IPv6 is enabled on lo/);
    assert.match(detected.stderr, /IPv4: applied 20 rule change\(s\) in one transaction, creating Pillion's chains/);
    assert.equal(tables(auto), installed);
  } else {
    assert.doesNotMatch(detected.stderr, /creating Pillion's chains/);
  }

  const again = apply(fresh);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /IPv6: Pillion's chains are there already/);
  assert.match(again.stderr, /IPv4: rules already as planned, nothing to do/);
  assert.match(again.stderr, /IPv6: rules already as planned, nothing to do/);
  assert.equal(tables(fresh), installed);
});
