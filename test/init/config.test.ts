import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCaptureConfig } from '../../init/config.js';
import { UsageError } from '../../init/errors.js';
import { planCaptureRules } from '../../init/plan/planner.js';
import { renderRestore } from '../../init/plan/render.js';

function usageMessage(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCaptureConfig(argv, env);
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    return error.message;
  }
  assert.fail(`expected ${argv.join(' ')} to be rejected`);
}

test('defaults are complete and frozen', () => {
  const c = parseCaptureConfig([], {});
  assert.ok(Object.isFrozen(c));
  assert.equal(c.proxyUid, 1337);
  assert.equal(c.proxyGid, 1337);
  assert.equal(c.outboundPort, 15001);
  assert.equal(c.inboundPort, 15006);
  assert.equal(c.inboundPorts, '*');
  assert.deepEqual(c.excludeInboundPorts, [{ first: 15021, last: 15021 }, { first: 15090, last: 15090 }]);
  assert.equal(c.outboundCidrs, '*');
  assert.deepEqual(c.excludeOutboundCidrs, []);
  assert.equal(c.ipv6, 'auto');
  assert.equal(c.backend, 'auto');
  assert.equal(c.redirectDns, false);
  assert.equal(c.dnsPort, 15053);
});

const invalid: [string[], RegExp][] = [
  [['--inbound-ports', '70000'], /^--inbound-ports: port 70000 is out of range 1-65535$/],
  [['--inbound-ports=0'], /^--inbound-ports: port 0 is out of range/],
  [['--outbound-port', '65536'], /^--outbound-port: port 65536 is out of range/],
  [['--exclude-outbound-ports', '90-80'], /^--exclude-outbound-ports: range 90-80 runs backwards/],
  [['--outbound-cidrs', '10.0.0.0/33'], /^--outbound-cidrs: .*invalid prefix length/],
  [['--exclude-outbound-cidrs', 'not-a-cidr'], /^--exclude-outbound-cidrs: .*not an IPv4 or IPv6 CIDR/],
  [['--exclude-outbound-cidrs', 'fe80::1%eth0'], /^--exclude-outbound-cidrs: "fe80::1%eth0" has a zone index/],
  [['--outbound-cidrs', 'fe80::%lo/64'], /^--outbound-cidrs: "fe80::%lo\/64" has a zone index/],
  [['--ipv6', 'off', '--outbound-cidrs', 'fd00::/8'], /^--outbound-cidrs: fd00::\/8 is an IPv6 CIDR but --ipv6 is off$/],
  [['--ipv6=off', '--exclude-outbound-cidrs', '10.0.0.0/8,fd00::/8'], /^--exclude-outbound-cidrs: .*IPv6 CIDR but --ipv6 is off/],
  [['--proxy-uid', 'abc'], /^--proxy-uid: "abc" is not a valid numeric id$/],
  [['--proxy-gid', '-1'], /^--proxy-gid: /],
  [['--ipv6', 'maybe'], /^--ipv6: "maybe" is not one of auto, on, off$/],
  [['--backend', 'iptables'], /^--backend: /],
  [['--redirect-dns=perhaps'], /^--redirect-dns: "perhaps" is not a boolean/],
  [['--exclude-interfaces', 'eth0;rm'], /^--exclude-interfaces: "eth0;rm" is not a valid interface name$/],
  [['--unknown-flag'], /unknown option '--unknown-flag'/],
  [['--inbound-port', '15001'], /^--inbound-port: 15001 is also the --outbound-port$/],
  [['--inbound-ports', ''], /^--inbound-ports: expected "\*" or a list of ports$/],
  [['stray'], /too many arguments|unknown/],
];

for (const [argv, expected] of invalid) {
  test(`rejects ${argv.join(' ')} naming the flag`, () => {
    assert.match(usageMessage(argv), expected);
  });
}

test('env values apply, and flags win over env', () => {
  const env = { PILLION_INBOUND_PORTS: '80,8000-8100', PILLION_PROXY_UID: '2000', PILLION_REDIRECT_DNS: 'true' };
  const fromEnv = parseCaptureConfig([], env);
  assert.deepEqual(fromEnv.inboundPorts, [{ first: 80, last: 80 }, { first: 8000, last: 8100 }]);
  assert.equal(fromEnv.proxyUid, 2000);
  assert.equal(fromEnv.proxyGid, 2000, 'gid defaults to the uid, also when the uid came from env');
  assert.equal(fromEnv.redirectDns, true);
  const flagWins = parseCaptureConfig(['--inbound-ports', '9080', '--proxy-uid=3000', '--redirect-dns=false'], env);
  assert.deepEqual(flagWins.inboundPorts, [{ first: 9080, last: 9080 }]);
  assert.equal(flagWins.proxyUid, 3000);
  assert.equal(flagWins.redirectDns, false);
});

test('a bad env value names the flag and the variable', () => {
  assert.equal(usageMessage([], { PILLION_DNS_PORT: '99999' }), '--dns-port (from PILLION_DNS_PORT): port 99999 is out of range 1-65535');
});

test('--redirect-dns: presence means on; =false and "false" accepted', () => {
  assert.equal(parseCaptureConfig(['--redirect-dns'], {}).redirectDns, true);
  assert.equal(parseCaptureConfig(['--redirect-dns', '--dns-port', '5353'], {}).dnsPort, 5353);
  assert.equal(parseCaptureConfig(['--redirect-dns=false'], {}).redirectDns, false);
  assert.equal(parseCaptureConfig(['--redirect-dns', 'false'], {}).redirectDns, false);
});

test('--flag=value and --flag value are the same', () => {
  assert.deepEqual(parseCaptureConfig(['--outbound-cidrs=10.0.0.0/8'], {}), parseCaptureConfig(['--outbound-cidrs', '10.0.0.0/8'], {}));
});

test('port 22 is excluded from inbound capture unless listed in --inbound-ports', () => {
  const withStar = renderRestore(planCaptureRules(parseCaptureConfig(['--ipv6', 'off'], {})), 4);
  assert.match(withStar, /--dport 22 -m comment --comment "pillion: ssh never captured" -j RETURN/);
  const listed = renderRestore(planCaptureRules(parseCaptureConfig(['--ipv6', 'off', '--inbound-ports', '22,80'], {})), 4);
  assert.doesNotMatch(listed, /ssh never captured/);
  assert.match(listed, /--dport 22 -m comment --comment "pillion: capture inbound port" -j PILLION_IN_REDIRECT/);
  // Excluding 22 explicitly still wins over listing it.
  const both = renderRestore(planCaptureRules(parseCaptureConfig(['--inbound-ports', '22', '--exclude-inbound-ports', '22'], {})), 4);
  assert.ok(both.indexOf('--dport 22 -m comment --comment "pillion: exclude inbound port"') < both.indexOf('capture inbound port'));
});

test('docs/init.md lists every flag with its env name', async () => {
  const { readFileSync } = await import('node:fs');
  const { repoPath } = await import('../support/paths.js');
  const { captureFlags } = await import('../../init/config.js');
  const doc = readFileSync(repoPath('docs', 'init.md'), 'utf8');
  for (const f of captureFlags) assert.match(doc, new RegExp(`\\| \`${f.flag}\` \\| \`${f.env}\` \\|`), f.flag);
});
