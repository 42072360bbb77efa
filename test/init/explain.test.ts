// explain answers for a table of connections, computed from the same plan apply installs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCaptureConfig } from '../../init/config.js';
import { RecordingExecutor, ok } from '../../init/exec/executor.js';
import { explainConnection, parseExplainQuery } from '../../init/explain/explain.js';
import { simulatePacket } from '../../init/explain/simulate.js';
import { planCaptureRules } from '../../init/plan/planner.js';
import { assertGolden } from '../support/golden.js';

// This namespace (as `ip -o addr show` prints it): the pod IP 10.0.0.5 and fd00::5.
const addrs = [
  '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
  '1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever',
  '2: eth0@if7    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever preferred_lft forever',
  '2: eth0@if7    inet6 fd00::5/64 scope global \\       valid_lft forever preferred_lft forever',
].join('\n');
const executor = new RecordingExecutor((argv) => (argv.join(' ') === 'ip -o addr show' ? ok(addrs) : undefined));

type Expect = 'outbound' | 'inbound' | 'dns' | 'none';
const OUT = 'outbound', IN = 'inbound', NONE = 'none';

const cases: [string, string[], Record<string, string | boolean>, Expect][] = [
  ['app to a remote service', [], { to: '10.1.2.3:80' }, OUT],
  ['proxy uid to a remote service', [], { to: '10.1.2.3:80', uid: '1337' }, NONE],
  ['proxy gid (uid 0) to a remote service', [], { to: '10.1.2.3:80', uid: '0', gid: '1337' }, NONE],
  ['separate proxy gid is exempt too', ['--proxy-gid', '1338'], { to: '10.1.2.3:80', uid: '0', gid: '1338' }, NONE],
  ['app to loopback', [], { to: '127.0.0.1:8080' }, NONE],
  ['app to ::1', [], { to: '[::1]:8080' }, NONE],
  ['app to its own pod IP', [], { to: '10.0.0.5:8080' }, OUT],
  ['proxy hairpin to the pod IP', [], { to: '10.0.0.5:8080', uid: '1337' }, IN],
  ['proxy hairpin to an excluded inbound port', [], { to: '10.0.0.5:15021', uid: '1337' }, NONE],
  ['proxy forwarding inbound to the app from 127.0.0.6', [], { to: '10.0.0.5:8080', uid: '1337', from: '127.0.0.6' }, NONE],
  ['proxy forwarding inbound to the app from ::6', [], { to: '[fd00::5]:8080', uid: '1337', from: '::6' }, NONE],
  ['app to the proxy outbound port on its pod IP', [], { to: '10.0.0.5:15001' }, NONE],
  ['inbound to an app port', [], { to: '10.0.0.5:8080', inbound: true }, IN],
  ['inbound ssh is never captured by default', [], { to: '10.0.0.5:22', inbound: true }, NONE],
  ['inbound ssh captured when listed', ['--inbound-ports', '22,8080'], { to: '10.0.0.5:22', inbound: true }, IN],
  ['inbound to an excluded port', [], { to: '10.0.0.5:15090', inbound: true }, NONE],
  ['inbound port outside the include-list', ['--inbound-ports', '8000-8100'], { to: '10.0.0.5:9090', inbound: true }, NONE],
  ['inbound port inside the include-list range', ['--inbound-ports', '8000-8100'], { to: '10.0.0.5:8050', inbound: true }, IN],
  ['inbound on an excluded interface', ['--exclude-interfaces', 'eth1'], { to: '10.0.0.5:8080', inbound: true, interface: 'eth1' }, NONE],
  ['outbound by an excluded interface', ['--exclude-interfaces', 'eth1'], { to: '10.9.9.9:80', interface: 'eth1' }, NONE],
  ['excluded outbound CIDR', ['--exclude-outbound-cidrs', '169.254.169.254/32'], { to: '169.254.169.254:80' }, NONE],
  ['excluded outbound port', ['--exclude-outbound-ports', '5432'], { to: '10.1.2.3:5432' }, NONE],
  ['include-lists: CIDR and port both listed', ['--outbound-cidrs', '10.0.0.0/8', '--outbound-ports', '80,443'], { to: '10.1.1.1:443' }, OUT],
  ['include-lists: port not listed', ['--outbound-cidrs', '10.0.0.0/8', '--outbound-ports', '80,443'], { to: '10.1.1.1:81' }, NONE],
  ['include-lists: CIDR not listed', ['--outbound-cidrs', '10.0.0.0/8', '--outbound-ports', '80,443'], { to: '192.168.1.1:80' }, NONE],
  ['IPv6 outbound captured', [], { to: '[fd00:1::1]:80' }, OUT],
  ['IPv6 with only IPv4 include CIDRs is not captured', ['--outbound-cidrs', '10.0.0.0/8'], { to: '[fd00:1::1]:80' }, NONE],
  ['IPv6 off', ['--ipv6', 'off'], { to: '[fd00:1::1]:80' }, NONE],
  ['IPv6 hairpin', [], { to: '[fd00::5]:8080', uid: '1337' }, IN],
  ['DNS over TCP redirected', ['--redirect-dns'], { to: '10.96.0.10:53' }, 'dns'],
  ['proxy DNS lookups go out', ['--redirect-dns'], { to: '10.96.0.10:53', uid: '1337' }, NONE],
  ['DNS not redirected when off', [], { to: '10.96.0.10:53' }, OUT],
];

for (const [name, argv, opts, expected] of cases) {
  test(`explain: ${name}`, async () => {
    const config = parseCaptureConfig(argv, {});
    const answer = await explainConnection(config, parseExplainQuery(opts), executor);
    const result = answer.trimEnd().split('\n').at(-1) ?? '';
    if (expected === 'none') assert.match(result, /^result: not captured/, answer);
    else if (expected === 'dns') assert.match(result, new RegExp(`^result: captured, redirected to the proxy's DNS port ${config.dnsPort}$`), answer);
    else {
      const port = expected === 'outbound' ? config.outboundPort : config.inboundPort;
      assert.match(result, new RegExp(`^result: captured, redirected to the proxy's ${expected} port ${port}$`), answer);
    }
  });
}

test('explain trace is golden', async () => {
  const config = parseCaptureConfig([], {});
  const answers = await Promise.all([
    explainConnection(config, parseExplainQuery({ to: '10.0.0.5:8080', uid: '1337' }), executor),
    explainConnection(config, parseExplainQuery({ to: '10.0.0.5:22', inbound: true }), executor),
  ]);
  assertGolden('init/explain-trace.txt', answers.join('\n'));
});

test('property: the proxy (uid) is never redirected to its outbound port, any destination', () => {
  const plan = planCaptureRules(parseCaptureConfig(['--ipv6', 'on', '--redirect-dns'], {}));
  fc.assert(
    fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), fc.boolean(), (address, port, local) => {
      const v = simulatePacket(plan, {
        family: 4, protocol: 'tcp', source: undefined, destination: address, destinationPort: port,
        uid: 1337, gid: 1337, inInterface: undefined, outInterface: local ? 'lo' : 'eth0', inbound: false,
      }).verdict;
      return v.kind === 'accept' || v.port === 15006;
    }),
  );
});
