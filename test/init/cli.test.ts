// The built binary, as users and the netns tests run it (no root needed for these cases).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { assertGolden } from '../support/golden.js';
import { pillionInitBin } from '../support/paths.js';

function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [pillionInitBin, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('apply --dry-run prints only restore text on stdout', () => {
  const r = run(['apply', '--dry-run', '--ipv6', 'on', '--redirect-dns']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const line of r.stdout.trimEnd().split('\n')) assert.match(line, /^(#|\*nat$|:PILLION_|-A |COMMIT$)/);
  assertGolden('init/cli-dry-run-dns.txt', r.stdout);
});

test('the default command is apply; --dry-run without it gives the same text', () => {
  assert.equal(run(['--dry-run']).stdout, run(['apply', '--dry-run']).stdout);
});

test('env variables shape the dry run; flags beat env', () => {
  const fromEnv = run(['--dry-run', '--ipv6=off'], { PILLION_INBOUND_PORTS: '9080' });
  assert.match(fromEnv.stdout, /--dport 9080 -m comment --comment "pillion: capture inbound port"/);
  const flagWins = run(['--dry-run', '--ipv6=off', '--inbound-ports', '7070'], { PILLION_INBOUND_PORTS: '9080' });
  assert.doesNotMatch(flagWins.stdout, /9080/);
  assert.match(flagWins.stdout, /--dport 7070/);
});

const bad: [string[], RegExp][] = [
  [['--inbound-ports', '70000'], /^pillion-init: --inbound-ports: port 70000 is out of range 1-65535\n$/],
  [['apply', '--dry-run', '--outbound-cidrs', '10.0.0.0/40'], /^pillion-init: --outbound-cidrs: /],
  [['--dry-run', '--ipv6', 'off', '--outbound-cidrs', '::/0'], /^pillion-init: --outbound-cidrs: ::\/0 is an IPv6 CIDR but --ipv6 is off\n$/],
  [['--dry-run', '--proxy-uid', 'nobody'], /^pillion-init: --proxy-uid: "nobody" is not a valid numeric id\n$/],
  [['--dry-run', '--no-such-flag'], /^pillion-init: unknown option '--no-such-flag'\n$/],
  [['frobnicate'], /^pillion-init: unknown command 'frobnicate'/],
  [['cleanup', '--inbound-ports', '80'], /^pillion-init: unknown option '--inbound-ports'\n$/],
  [['explain', '--to', '10.0.0.1'], /^pillion-init: --to: "10.0.0.1" is not IP:PORT/],
  [['explain'], /^pillion-init: --to: required/],
  [['validate', '--timeout-ms', '0'], /^pillion-init: --timeout-ms: "0" is not a positive integer\n$/],
  [['validate', '--dry-run'], /^pillion-init: unknown option '--dry-run'\n$/],
];

for (const [args, message] of bad) {
  test(`exit 2 and nothing on stdout: ${args.join(' ')}`, () => {
    const r = run(args);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message);
  });
}

test('explain prints its answer on stdout', () => {
  const r = run(['explain', '--to', '10.1.2.3:443', '--exclude-outbound-ports', '443', '--interface', 'eth0']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /result: not captured \("pillion: exclude outbound port" returned it\)\n$/);
});

test('--help goes to stdout and exits 0', () => {
  const r = run(['apply', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--exclude-outbound-cidrs <value>/);
});

test('validate --help documents its exit codes; validate reads no PILLION_* variables, as the CNI plugin', () => {
  const help = run(['validate', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--timeout-ms <n>/);
  assert.match(help.stdout, /Exit codes: 0 capture in place/);
  assert.match(help.stdout, /126 capture missing: one line on stderr names the family/);
  // A variable that would be a usage error for apply is not even read by validate.
  assert.equal(run(['--dry-run'], { PILLION_OUTBOUND_PORT: 'none' }).status, 2);
  const r = run(['validate', '--timeout-ms', '200', '--proxy-uid', String(process.getuid?.() ?? 0)], { PILLION_OUTBOUND_PORT: 'none' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^pillion-init: validate runs as uid \d+ gid \d+, whose traffic the rules exempt/);
});
