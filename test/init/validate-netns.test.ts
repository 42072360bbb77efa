// `pillion-init validate` (CNI mode's validation init container) against the real kernel, run as
// an ordinary non-root uid with no capability, in namespaces this test creates: with the rules in
// place it exits 0; with no rules, or one family's rules flushed, it exits 126 with one stderr line
// naming the family; a family without an address is skipped and said so.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requirePrivileges } from '../support/privileges.js';
import { pillionInitBin } from '../support/paths.js';
import { makePodNamespace, must, sh, type RunResult } from './netns-support.js';

/** A pod-like namespace: 10.198.<octet>.5 and, unless ipv6 is false, fd98:<octet>::5. */
function makeNamespace(t: TestContext, name: string, octet: number, ipv6 = true): void {
  makePodNamespace(t, name, { ipv4: `10.198.${octet}.5`, ...(ipv6 ? { ipv6: `fd98:${octet}::5` } : {}) });
}

// The flags the injector records for the bundled envoy template (formatInitArgs of the defaults).
const canonical = ['--proxy-uid=1337', '--proxy-gid=1337', '--outbound-port=15001', '--inbound-port=15006', '--inbound-ports=*', '--exclude-inbound-ports=15021,15090', '--outbound-cidrs=*'];

/** pillion-init as root (apply, standing in for the CNI plugin). */
function asRoot(ns: string, args: string[]): RunResult {
  return sh(['ip', 'netns', 'exec', ns, process.execPath, pillionInitBin, ...args]);
}

/** pillion-init as the validation container runs it: an ordinary uid/gid, no groups, no capability. */
function validate(ns: string, args: string[], uid = 65534): RunResult {
  return sh([
    'ip', 'netns', 'exec', ns, 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs',
    process.execPath, pillionInitBin, 'validate', ...args,
  ]);
}

const hint = /\(was the pod started before the Pillion CNI plugin was installed on its node\?\)$/;
const needs = ['setpriv', 'iptables-legacy-restore', 'iptables-nft-restore', 'ip6tables-legacy-restore', 'ip6tables-nft-restore', 'iptables-legacy', 'ip6tables-legacy', 'iptables-nft', 'ip6tables-nft'];

for (const [i, backend] of (['legacy', 'nft'] as const).entries()) {
  test(`validate passes as a non-root uid once the rules are in place (${backend})`, (t) => {
    if (!requirePrivileges(t, needs)) return;
    const ns = `pval-${process.pid}-${backend}`;
    makeNamespace(t, ns, 10 + i);
    const apply = asRoot(ns, ['apply', `--backend=${backend}`, ...canonical]);
    assert.equal(apply.status, 0, apply.stderr);
    const r = validate(ns, canonical);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^validate: ok: IPv4 outbound capture in place \(uid 65534 -> 10\.198\.\d+\.5:\d+ reached port 15001\); IPv6 outbound capture in place \(uid 65534 -> \[fd98:\d+::5\]:\d+ reached port 15001\)\n$/);
    assert.equal(r.stderr, '', 'nothing skipped');
  });
}

test('validate exits 126 naming both families when no rules are installed', (t) => {
  if (!requirePrivileges(t, needs)) return;
  const ns = `pval-${process.pid}-none`;
  makeNamespace(t, ns, 20);
  const r = validate(ns, [...canonical, '--timeout-ms=500']);
  assert.equal(r.status, 126, `${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', /^pillion-init validate: IPv4 and IPv6 outbound capture is not in place: IPv4: connect to 10\.198\.20\.5:\d+: ECONNREFUSED; IPv6: connect to \[fd98:20::5\]:\d+: ECONNREFUSED /);
  assert.match(lines[0] ?? '', hint);
});

for (const [i, [family, tool]] of ([[4, 'iptables'], [6, 'ip6tables']] as const).entries()) {
  for (const [j, backend] of (['legacy', 'nft'] as const).entries()) {
    test(`validate exits 126 naming IPv${family} alone when that family's rules are flushed (${backend})`, (t) => {
      if (!requirePrivileges(t, needs)) return;
      const ns = `pval-${process.pid}-f${family}${backend}`;
      makeNamespace(t, ns, 30 + i * 2 + j);
      const apply = asRoot(ns, ['apply', `--backend=${backend}`, ...canonical]);
      assert.equal(apply.status, 0, apply.stderr);
      const before = validate(ns, canonical);
      assert.equal(before.status, 0, `in place before the flush: ${before.stdout}${before.stderr}`);
      // -w: other tests on this machine may hold the (host-wide) legacy xtables lock.
      must(['ip', 'netns', 'exec', ns, `${tool}-${backend}`, '-w', '5', '-t', 'nat', '-F', 'OUTPUT']);
      const r = validate(ns, [...canonical, '--timeout-ms=500']);
      assert.equal(r.status, 126, `${r.stdout}${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0] ?? '', new RegExp(`^pillion-init validate: IPv${family} outbound capture is not in place: connect to \\S+: ECONNREFUSED `));
      assert.match(lines[0] ?? '', hint);
    });
  }
}

test('a family without a non-loopback address, or not captured, is skipped and said so', (t) => {
  if (!requirePrivileges(t, needs)) return;
  const ns = `pval-${process.pid}-v4only`;
  makeNamespace(t, ns, 40, false);
  const apply = asRoot(ns, ['apply', '--backend=legacy', '--ipv6=off', ...canonical]);
  assert.equal(apply.status, 0, apply.stderr);
  const r = validate(ns, canonical);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^validate: ok: IPv4 outbound capture in place /);
  assert.equal(r.stderr, 'pillion-init: validate: IPv6 not checked: the pod has no IPv6 address besides loopback and link-local\n');
  // haproxy's settings: IPv6 is not captured at all, so it is not checked either.
  const off = validate(ns, [...canonical, '--ipv6=off']);
  assert.equal(off.status, 0, off.stderr);
  assert.equal(off.stderr, 'pillion-init: validate: IPv6 not checked: the settings do not capture it (--ipv6 off)\n');
});

test('validate refuses to run as the proxy\'s uid (its traffic is never captured) and needs the outbound port free', (t) => {
  if (!requirePrivileges(t, needs)) return;
  const ns = `pval-${process.pid}-misc`;
  makeNamespace(t, ns, 41);
  const proxy = validate(ns, canonical, 1337);
  assert.equal(proxy.status, 1, proxy.stderr);
  assert.match(proxy.stderr, /^pillion-init: validate runs as uid 1337 gid 1337, whose traffic the rules exempt/);
  // Something (a proxy already started) holds the outbound port.
  const holder = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e',
    'const s = require("node:net").createServer().listen(15001, "0.0.0.0", () => { require("node:child_process").execFileSync(process.argv[1], process.argv.slice(2), { stdio: "inherit" }); s.close(); })',
    'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, pillionInitBin, 'validate', ...canonical], { encoding: 'utf8' });
  assert.notEqual(holder.status, 0);
  assert.match(holder.stderr, /pillion-init: port 15001 on 0\.0\.0\.0 is in use: validate needs the proxy's ports free/);
});
