// ipFamilyOf against Node's own net.isIPv4 / net.isIPv6 (what parseCidr used before): the same
// answer for every address without a zone index (parseCidr refuses those first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { ipFamilyOf, parseCidr } from '../../init/values.js';

const nodeFamily = (t: string): 4 | 6 | undefined => (isIPv4(t) ? 4 : isIPv6(t) ? 6 : undefined);
const pieces = fc.constantFrom('', ':', '::', '.', '0', '1', '01', 'ff', 'FFFF', 'fffff', '255', '256', '1.2.3.4', '001', 'g', '0000', '12345', ':0:', '1.2.3', '[', ']', ' ', '/', '::ffff:', '10.0.0.1', '-', 'x');
const texts = fc.oneof(
  fc.array(pieces, { maxLength: 12 }).map((a) => a.join('')),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'), maxLength: 45 }),
  fc.ipV4(), fc.ipV4Extended(), fc.ipV6(),
);

test('ipFamilyOf gives net.isIPv4 / net.isIPv6\'s answer for every text without a zone index', () => {
  fc.assert(fc.property(texts, (t) => {
    fc.pre(!t.includes('%'));
    assert.equal(ipFamilyOf(t), nodeFamily(t), JSON.stringify(t));
  }), { numRuns: 20_000 });
});

test('ipFamilyOf: examples', () => {
  for (const [t, family] of [['10.0.0.1', 4], ['::', 6], ['::ffff:1.2.3.4', 6], ['2001:db8::10', 6], ['010.0.0.1', undefined], ['1.2.3', undefined],
    ['1::2::3', undefined], ['[::1]', undefined], ['::1/128', undefined], ['', undefined], ['fe80::1%eth0', undefined]] as const) {
    assert.equal(ipFamilyOf(t), family, t);
  }
  assert.deepEqual(parseCidr('2001:DB8:0:0::10/64'), { family: 6, address: '2001:db8::10', prefix: 64 });
});
