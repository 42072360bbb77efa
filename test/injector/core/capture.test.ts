// The injector ↔ pillion-init contract: whatever capture settings the injector accepts (values.yaml
// defaults, then a pod's override annotations), the argv formatInitArgs writes is parsed back by
// pillion-init's own parser to the same settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatInitArgs } from '../../../injector/core/capture.js';
import type { CaptureSettings } from '../../../injector/core/capture.js';
import { parseOverrides } from '../../../injector/core/overrides.js';
import { captureFlags, parseCaptureConfig } from '../../../init/index.js';
import { normalisePortRanges } from '../../../init/values.js';
import { bundledTemplates } from './fixture-support.js';

const seed = Number(process.env.FC_SEED ?? 20260412);
const port = fc.integer({ min: 1, max: 65535 });
const id = fc.integer({ min: 0, max: 4294967294 });
const range = fc.tuple(port, port).map(([a, b]) => (a === b ? String(a) : `${Math.min(a, b)}-${Math.max(a, b)}`));
const portList = fc.array(range, { maxLength: 4 }).map((items) => items.join(','));
const portSelection = fc.oneof(fc.constant('*'), fc.array(range, { minLength: 1, maxLength: 4 }).map((items) => items.join(',')));
const cidr = fc.oneof(
  fc.tuple(fc.ipV4(), fc.option(fc.integer({ min: 0, max: 32 }))),
  fc.tuple(fc.ipV6(), fc.option(fc.integer({ min: 0, max: 128 }))),
).map(([address, prefix]) => (prefix === null ? address : `${address}/${prefix}`));
const cidrList = fc.array(cidr, { maxLength: 3 }).map((items) => items.join(','));
const cidrSelection = fc.oneof(fc.constant('*'), fc.array(cidr, { minLength: 1, maxLength: 3 }).map((items) => items.join(',')));
const interfaces = fc
  .array(fc.stringMatching(/^[A-Za-z0-9_.-]{1,15}$/).filter((n) => n !== '.' && n !== '..'), { maxLength: 3 })
  .map((items) => items.join(','));
const boolean = fc.constantFrom('true', 'false', 'yes', 'no', '1', '0', 'on', 'off', 'enabled', 'disabled');

/** Every capture override annotation a pod may carry, each present or not. */
const annotations = fc.record(
  {
    'pillion.dev/inbound-ports': portSelection,
    'pillion.dev/exclude-inbound-ports': portList,
    'pillion.dev/outbound-cidrs': cidrSelection,
    'pillion.dev/exclude-outbound-cidrs': cidrList,
    'pillion.dev/outbound-ports': portSelection,
    'pillion.dev/exclude-outbound-ports': portList,
    'pillion.dev/exclude-interfaces': interfaces,
    'pillion.dev/redirect-dns': boolean,
  },
  { requiredKeys: [] },
);

/**
 * What values.yaml gives: ids, the proxy's ports and the defaults of every override. The three
 * listeners are distinct: pillion-init refuses equal ones (the injector does not check values.yaml
 * for that; see the report of issue 12).
 */
const defaults = fc
  .record({
    proxyUid: id,
    proxyGid: id,
    listeners: fc.uniqueArray(port, { minLength: 3, maxLength: 3 }),
    proxyOwnPorts: fc.tuple(port, port),
  })
  .map(({ listeners: [outboundPort = 1, inboundPort = 2, dnsPort = 3], ...rest }): CaptureSettings => ({
    ...rest,
    outboundPort,
    inboundPort,
    dnsPort,
    inboundPorts: '*',
    excludeInboundPorts: [],
    outboundCidrs: '*',
    excludeOutboundCidrs: [],
    outboundPorts: '*',
    excludeOutboundPorts: [],
    excludeInterfaces: [],
    redirectDns: false,
  }));

test('the flags formatInitArgs writes are pillion-init\'s own (its flag table)', () => {
  const known = new Set(captureFlags.map((f) => f.flag));
  const settings = { ...parseCaptureConfig([], {}), proxyOwnPorts: [15021], redirectDns: true, excludeOutboundCidrs: parseCaptureConfig(['--exclude-outbound-cidrs=10.0.0.0/8'], {}).excludeOutboundCidrs };
  for (const arg of formatInitArgs(settings).slice(1)) assert.ok(known.has(arg.split('=')[0] ?? ''), arg);
});

test(`round trip: pillion-init parses the injector's argv back to the pod's capture settings (seed ${seed})`, () => {
  fc.assert(
    fc.property(defaults, annotations, (base, podAnnotations) => {
      const overrides = parseOverrides(podAnnotations, bundledTemplates(), false, []);
      const settings: CaptureSettings = { ...base, ...overrides.capture };
      const args = formatInitArgs(settings);
      assert.equal(args[0], 'apply');
      const parsed = parseCaptureConfig(args.slice(1), {});
      const ownPorts = settings.proxyOwnPorts.map((p) => ({ first: p, last: p }));
      assert.deepEqual(parsed, {
        proxyUid: settings.proxyUid,
        proxyGid: settings.proxyGid,
        outboundPort: settings.outboundPort,
        inboundPort: settings.inboundPort,
        inboundPorts: settings.inboundPorts,
        // The proxy's own ports are always excluded from inbound capture.
        excludeInboundPorts: normalisePortRanges([...settings.excludeInboundPorts, ...ownPorts]),
        outboundCidrs: settings.outboundCidrs,
        excludeOutboundCidrs: settings.excludeOutboundCidrs,
        outboundPorts: settings.outboundPorts,
        excludeOutboundPorts: settings.excludeOutboundPorts,
        excludeInterfaces: settings.excludeInterfaces,
        // Not capture settings of a pod: pillion-init decides them on the node.
        ipv6: 'auto',
        backend: 'auto',
        redirectDns: settings.redirectDns,
        // Left out when DNS is not redirected: pillion-init's default then, and unused.
        dnsPort: settings.redirectDns ? settings.dnsPort : 15053,
      });
    }),
    { seed, numRuns: 1000 },
  );
});
