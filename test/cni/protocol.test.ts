// The CNI protocol layer: environment, stdin, versions, results and error objects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CniError, formatError, pluginCodes, specCodes } from '../../cni/protocol/errors.js';
import { defaultExcludedNamespaces, parseCniArgs, parseNetworkConfig, readEnvironment } from '../../cni/protocol/request.js';
import { familiesOf, formatPassThrough, requirePrevResult } from '../../cni/protocol/result.js';
import { allowsCheck, formatVersionInfo, requireStatusAndGc, requireSupportedVersion } from '../../cni/protocol/versions.js';

const baseEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CniError, `expected a CniError, got ${String(error)}`);
    return error.code;
  }
  assert.fail('expected a CniError');
}

test('environment: every missing variable is named, with code 4', () => {
  assert.throws(() => readEnvironment({}), (e: unknown) => e instanceof CniError && e.code === 4 && /CNI_COMMAND/.test(e.message));
  assert.throws(
    () => readEnvironment({ CNI_COMMAND: 'ADD' }),
    (e: unknown) => e instanceof CniError && e.code === 4 && e.message.includes('CNI_CONTAINERID, CNI_IFNAME, CNI_PATH, CNI_NETNS'),
  );
  assert.equal(codeOf(() => readEnvironment({ ...baseEnv, CNI_COMMAND: 'FROB' })), specCodes.invalidEnvironment);
  assert.equal(codeOf(() => readEnvironment({ ...baseEnv, CNI_CONTAINERID: '../x' })), specCodes.invalidEnvironment);
  assert.equal(codeOf(() => readEnvironment({ ...baseEnv, CNI_IFNAME: 'a/b' })), specCodes.invalidEnvironment);
  const del = readEnvironment({ ...baseEnv, CNI_COMMAND: 'DEL', CNI_NETNS: '' });
  assert.equal(del.netns, '', 'DEL needs no namespace');
});

test('CNI_ARGS: pairs are read; a pair without "=" is refused', () => {
  const args = parseCniArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_UID=u-1');
  assert.equal(args.get('K8S_POD_NAMESPACE'), 'shop');
  assert.equal(args.get('K8S_POD_NAME'), 'web-0');
  assert.throws(() => parseCniArgs('K8S_POD_NAME'), /is not KEY=VALUE/);
});

test('stdin: not JSON is 6, a missing field is 7, an unknown cniVersion is 1', () => {
  assert.equal(codeOf(() => parseNetworkConfig('{oops')), specCodes.decodingFailure);
  assert.equal(codeOf(() => parseNetworkConfig('[]')), specCodes.decodingFailure);
  assert.equal(codeOf(() => parseNetworkConfig('{"name":"n","type":"t"}')), specCodes.invalidNetworkConfig);
  assert.equal(codeOf(() => parseNetworkConfig('{"cniVersion":"1.0.0","type":"t"}')), specCodes.invalidNetworkConfig);
  assert.equal(codeOf(() => parseNetworkConfig('{"cniVersion":"1.0.0","name":"n"}')), specCodes.invalidNetworkConfig);
  assert.equal(codeOf(() => parseNetworkConfig('{"cniVersion":"0.2.0","name":"n","type":"t"}')), specCodes.incompatibleVersion);
  assert.equal(codeOf(() => parseNetworkConfig('{"cniVersion":"1.2.0","name":"n","type":"t"}')), specCodes.incompatibleVersion);
  assert.equal(codeOf(() => parseNetworkConfig('{"cniVersion":"1.0.0","name":"n","type":"t","timeoutMs":0}')), specCodes.invalidNetworkConfig);
  assert.equal(codeOf(() => parseNetworkConfig('{"cniVersion":"1.0.0","name":"n","type":"t","excludeNamespaces":"x"}')), specCodes.invalidNetworkConfig);
  assert.equal(codeOf(() => parseNetworkConfig('{"cniVersion":"1.0.0","name":"n","type":"t","runtimeConfig":{"io.kubernetes.cri.pod-annotations":{"a":1}}}')), specCodes.invalidNetworkConfig);
});

test('stdin: defaults, runtime annotations, and excludeNamespaces adding to the system ones', () => {
  const conf = parseNetworkConfig(JSON.stringify({
    cniVersion: '0.4.0', name: 'k8s-pod-network', type: 'pillion-cni', excludeNamespaces: ['monitoring'],
    runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { a: 'b' } },
  }));
  assert.equal(conf.cniVersion, '0.4.0');
  assert.deepEqual(conf.runtimeAnnotations, { a: 'b' });
  assert.deepEqual(conf.excludeNamespaces, [...defaultExcludedNamespaces, 'monitoring']);
  assert.equal(conf.apiTimeoutMs, 2000);
  assert.equal(conf.apiAttempts, 3);
  assert.equal(parseNetworkConfig('{"cniVersion":"1.0.0","name":"n","type":"t","runtimeConfig":{}}').runtimeAnnotations, undefined);
});

test('versions: 0.3.0 to 1.1.0; CHECK from 0.4.0, STATUS and GC at 1.1.0; VERSION answers with the list', () => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) assert.equal(requireSupportedVersion(v), v);
  for (const v of ['0.1.0', '', '1.2.0']) assert.equal(codeOf(() => requireSupportedVersion(v)), 1);
  assert.equal(allowsCheck('0.3.1'), false);
  assert.equal(allowsCheck('0.4.0'), true);
  assert.equal(allowsCheck('1.1.0'), true);
  assert.doesNotThrow(() => requireStatusAndGc('1.1.0', 'STATUS'));
  assert.equal(codeOf(() => requireStatusAndGc('1.0.0', 'GC')), 1);
  assert.deepEqual(JSON.parse(formatVersionInfo()), { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
});

test('prevResult: families of its ips, passed through unchanged', () => {
  const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: 'fd00::5/64', interface: 0 }, { address: '10.0.0.5/24', interface: 0 }], dns: {} };
  assert.deepEqual(familiesOf(prev), [4, 6]);
  assert.deepEqual(familiesOf({ ips: [{ version: '4', address: '10.0.0.5/24' }] }), [4]);
  assert.deepEqual(familiesOf({}), []);
  assert.throws(() => familiesOf({ ips: [{ address: 'pod-ip/24' }] }), /ips\[0\]\.address "pod-ip\/24" is not an IP address/);
  assert.deepEqual(JSON.parse(formatPassThrough(prev, '1.0.0')), prev);
  assert.deepEqual(JSON.parse(formatPassThrough({ ips: [] }, '0.3.1')), { cniVersion: '0.3.1', ips: [] });
  const conf = parseNetworkConfig('{"cniVersion":"1.0.0","name":"n","type":"t"}');
  assert.equal(codeOf(() => requirePrevResult(conf, 'ADD')), specCodes.invalidNetworkConfig);
});

test('error objects carry cniVersion, code, msg and details', () => {
  const text = formatError(new CniError(pluginCodes.applyFailed, 'boom', 'why'), '0.4.0');
  assert.deepEqual(JSON.parse(text), { cniVersion: '0.4.0', code: 102, msg: 'boom', details: 'why' });
  assert.ok(text.endsWith('\n'));
});
