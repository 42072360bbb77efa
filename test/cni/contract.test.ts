// The injector ↔ plugin contract (docs/cni.md): which pods are captured, with which settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCaptureConfig, planCaptureRules, renderRestore } from '../../init/index.js';
import { decideFromAnnotations, statusAnnotation } from '../../cni/pod/contract.js';
import { podIdentity } from '../../cni/pod/decide.js';
import { CniError, pluginCodes } from '../../cni/protocol/errors.js';
import { readEnvironment } from '../../cni/protocol/request.js';

const status = (capture: unknown): Record<string, string> => ({
  [statusAnnotation]: JSON.stringify({ version: 'v1', templates: ['sidecar'], containers: ['proxy'], initContainers: [], volumes: [], annotations: [], labels: [], capture }),
});

// What the injector's formatInitArgs writes for the shipped defaults.
const canonical = ['apply', '--proxy-uid=1337', '--proxy-gid=1337', '--outbound-port=15001', '--inbound-port=15006', '--inbound-ports=*', '--exclude-inbound-ports=15020-15021,15090', '--outbound-cidrs=*'];

test('a pod without the status annotation, or captured by the init container, passes through', () => {
  assert.equal(decideFromAnnotations({}).capture, false);
  assert.equal(decideFromAnnotations(status(undefined)).capture, false);
  assert.equal(decideFromAnnotations(status({ mode: 'init' })).capture, false);
});

test('CNI mode: the recorded args go through pillion-init\'s own parser, ignoring the environment', () => {
  const before = process.env.PILLION_OUTBOUND_PORT;
  process.env.PILLION_OUTBOUND_PORT = '9999';
  try {
    const decision = decideFromAnnotations(status({ mode: 'cni', args: canonical }));
    assert.equal(decision.capture, true);
    if (!decision.capture) return;
    assert.deepEqual(decision.config, parseCaptureConfig(canonical.slice(1), {}));
    assert.equal(decision.config.outboundPort, 15001);
  } finally {
    if (before === undefined) delete process.env.PILLION_OUTBOUND_PORT;
    else process.env.PILLION_OUTBOUND_PORT = before;
  }
});

test('a pod that asks for CNI capture with broken settings fails with code 101, naming the flag', () => {
  const cases: [unknown, RegExp][] = [
    [{ mode: 'cni', args: ['--inbound-ports=70000'] }, /--inbound-ports: port 70000 is out of range/],
    [{ mode: 'cni', args: ['--no-such-flag'] }, /unknown option '--no-such-flag'/],
    [{ mode: 'cni', args: '--proxy-uid=1' }, /must be a list of strings/],
    [{ mode: 7 }, /must be an object with a "mode"/],
  ];
  for (const [capture, message] of cases) {
    assert.throws(() => decideFromAnnotations(status(capture)), (e: unknown) => e instanceof CniError && e.code === pluginCodes.invalidCaptureSettings && message.test(e.message));
  }
  assert.throws(() => decideFromAnnotations({ [statusAnnotation]: '{not json' }), (e: unknown) => e instanceof CniError && e.code === 101);
});

test('the rules the plugin would program contain only numeric addresses, ports and ids', () => {
  const decision = decideFromAnnotations(status({ mode: 'cni', args: [...canonical, '--redirect-dns', '--exclude-outbound-cidrs=10.0.0.0/8,fd00::/8'] }));
  assert.ok(decision.capture);
  if (!decision.capture) return;
  for (const family of [4, 6] as const) {
    const text = renderRestore(planCaptureRules(decision.config), family);
    for (const match of text.matchAll(/(?:-[sd]|--dport|--uid-owner|--gid-owner|--to-ports) (\S+)/g)) {
      assert.match(match[1] ?? '', /^[0-9a-f.:/]+$/, `non-numeric argument in: ${match[0]}`);
    }
  }
});

test('the pod is named by CNI_ARGS; without it the sandbox is not a Kubernetes pod', () => {
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_NETNS: '/n', CNI_IFNAME: 'eth0', CNI_PATH: '/p' };
  assert.deepEqual(podIdentity(readEnvironment({ ...env, CNI_ARGS: 'K8S_POD_NAMESPACE=a;K8S_POD_NAME=b;K8S_POD_UID=u' })), { namespace: 'a', name: 'b', uid: 'u' });
  assert.equal(podIdentity(readEnvironment(env)), undefined);
});
