// pillion-cni when things go wrong: bad stdin or environment, a missing namespace, an API server
// that is down, slow, or answers 401, 403 or 404, settings that pillion-init rejects, and a
// namespace that refuses half of the work. Each gives the right CNI error object on stdout, a
// non-zero exit, never a crash, and leaves the namespace exactly as it was.
import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { freePort } from '../../test/support/ports.js';
import { inNamespace, runChecked } from '../support/netns.js';
import { describeOutcome, runCni, type CniOutcome } from './support/cni-runner.js';
import type { CniPod } from './support/node-chain.js';
import { meshedAnnotations, pluginConfig, requirePluginPeers, snapshotNamespace, startPluginEnv, statusWith, type PluginCall, type PluginEnv } from './support/plugin-env.js';

describe('pillion-cni failures', () => {
  let envPromise: Promise<PluginEnv> | undefined;
  let podPromise: Promise<{ env: PluginEnv; pod: CniPod; clean: string }> | undefined;
  /** One pod, not captured by any case here: its snapshot must never change. */
  const setUp = async (t: TestContext): Promise<{ env: PluginEnv; pod: CniPod; clean: string } | undefined> => {
    const peers = requirePluginPeers(t);
    if (peers === undefined) return undefined;
    envPromise ??= startPluginEnv(peers.bin, peers.kubectl);
    return (podPromise ??= envPromise.then(async (env) => {
      const pod = await env.node.addPod('fail');
      return { env, pod, clean: await snapshotNamespace(pod.ns) };
    }));
  };
  after(async () => {
    const env = await envPromise?.catch(() => undefined);
    await env?.destroy();
  });

  /** The outcome is a CNI error with `code` (and `msg` matching), and the namespace is untouched. */
  async function expectError(ctx: { env: PluginEnv; pod: CniPod; clean: string }, outcome: CniOutcome, code: number, msg: RegExp, what: string): Promise<void> {
    assert.notEqual(outcome.exitCode, 0, describeOutcome(what, outcome));
    assert.equal(outcome.json?.code, code, describeOutcome(what, outcome));
    assert.match(String(outcome.json?.msg), msg, describeOutcome(what, outcome));
    assert.equal(typeof outcome.json?.details, 'string');
    assert.equal(typeof outcome.json?.cniVersion, 'string');
    assert.doesNotMatch(outcome.stderr, /unexpected failure|at .*\.js:\d+/, 'no crash');
    assert.equal(await snapshotNamespace(ctx.pod.ns), ctx.clean, `${what}: namespace changed`);
  }

  const web = (env: PluginEnv, more: Partial<PluginCall> = {}): PluginCall => ({ pod: env.pods.web, ...more });

  test('the API server down, slow, refusing (401, 403) or without the pod (404): ADD fails, retryable where it may clear up', { timeout: 120_000 }, async (t) => {
    const ctx = await setUp(t);
    if (ctx === undefined) return;
    const { env, pod } = ctx;
    const nobodyListens = env.cluster.writeKubeconfig('down', { server: `https://127.0.0.1:${await freePort()}` });
    let started = Date.now();
    await expectError(ctx, await env.run(pod, 'ADD', web(env, { config: { kubeconfig: nobodyListens } })), 11, /cannot read pod shop\/web from the API server/, 'API down');
    assert.ok(Date.now() - started < 5000, 'refused connections fail fast');

    env.cluster.gate.mode = 'stall';
    const calls = env.cluster.gate.connections;
    started = Date.now();
    try {
      const slow = await env.run(pod, 'ADD', web(env));
      const elapsed = Date.now() - started;
      await expectError(ctx, slow, 11, /cannot read pod shop\/web/, 'API slow');
      assert.match(String(slow.json?.details), /attempt 3: no answer within 2000 ms/);
      assert.equal(env.cluster.gate.connections - calls, 3, 'three bounded attempts');
      assert.ok(elapsed >= 6000 && elapsed < 12_000, `3 attempts of 2 s plus back-off, took ${elapsed} ms`);
    } finally {
      env.cluster.gate.mode = 'forward';
    }

    const badToken = env.cluster.writeKubeconfig('bad-token', { token: 'not-a-valid-token' });
    await expectError(ctx, await env.run(pod, 'ADD', web(env, { config: { kubeconfig: badToken } })), 100, /refused to show pod shop\/web \(HTTP 401\)/, 'API 401');
    const unbound = env.cluster.writeKubeconfig('unbound', { token: tokenOf(env, 'nobody') });
    await expectError(ctx, await env.run(pod, 'ADD', web(env, { config: { kubeconfig: unbound } })), 100, /HTTP 403/, 'API 403');
    await expectError(ctx, await env.run(pod, 'ADD', { pod: { namespace: 'shop', name: 'gone' } }), 11, /pod shop\/gone not found/, 'API 404');
    await expectError(ctx, await env.run(pod, 'ADD', { pod: { ...env.pods.web, uid: 'another-uid' } }), 11, /has uid .*, the sandbox is for uid another-uid/, 'same name, other pod');
    await expectError(ctx, await env.run(pod, 'CHECK', web(env, { config: { kubeconfig: nobodyListens } })), 11, /cannot read pod/, 'CHECK with the API down');
    const missing = await env.run(pod, 'ADD', web(env, { config: { kubeconfig: '/nonexistent/kubeconfig' } }));
    await expectError(ctx, missing, 5, /cannot read kubeconfig \/nonexistent\/kubeconfig/, 'kubeconfig missing');
  });

  test('bad stdin, environment or settings: the right code, nothing applied', { timeout: 60_000 }, async (t) => {
    const ctx = await setUp(t);
    if (ctx === undefined) return;
    const { env, pod } = ctx;
    const meshed = web(env, { runtimeAnnotations: meshedAnnotations });
    const raw = (config: Record<string, unknown> | string, extraEnv: Record<string, string> = {}, command: 'ADD' | 'CHECK' = 'ADD'): Promise<CniOutcome> =>
      runCni({ command, argv: [env.plugin], config, netns: pod.netnsPath, containerId: pod.containerId, args: { K8S_POD_NAMESPACE: 'shop', K8S_POD_NAME: 'web' }, path: env.path, extraEnv });
    const good = pluginConfig(pod, meshed, env.cluster.kubeconfig);
    await expectError(ctx, await raw('this is not JSON'), 6, /not valid JSON/, 'not JSON');
    await expectError(ctx, await raw(''), 6, /not valid JSON/, 'empty stdin');
    await expectError(ctx, await raw({ ...good, name: undefined }), 7, /no "name"/, 'missing name');
    await expectError(ctx, await raw({ ...good, cniVersion: undefined }), 7, /no "cniVersion"/, 'missing cniVersion');
    await expectError(ctx, await raw({ ...good, prevResult: undefined }), 7, /ADD needs "prevResult"/, 'missing prevResult');
    await expectError(ctx, await raw({ ...good, cniVersion: '9.9.9' }), 1, /incompatible CNI version "9.9.9"/, 'unknown cniVersion');
    await expectError(ctx, await raw({ ...good, cniVersion: '0.3.1' }, {}, 'CHECK'), 1, /CHECK is not defined for cniVersion 0.3.1/, 'CHECK under 0.3.1');
    await expectError(ctx, await raw(good, { CNI_CONTAINERID: '' }), 4, /CNI_CONTAINERID/, 'missing CNI_CONTAINERID');
    await expectError(ctx, await raw(good, { CNI_COMMAND: 'STATUS' }), 1, /config version 1\.0\.0 does not allow STATUS/, 'STATUS under 1.0.0');
    await expectError(ctx, await raw(good, { CNI_COMMAND: 'FROB' }), 4, /CNI_COMMAND "FROB"/, 'an unknown command');
    await expectError(ctx, await raw(good, { CNI_NETNS: '/run/netns/no-such-namespace' }), 3, /network namespace \/run\/netns\/no-such-namespace does not exist/, 'missing netns');
    const broken = web(env, { runtimeAnnotations: statusWith({ mode: 'cni', args: ['--inbound-ports=70000'] }) });
    await expectError(ctx, await env.run(pod, 'ADD', broken), 101, /--inbound-ports: port 70000 is out of range/, 'settings rejected');
    const v6Off = web(env, { runtimeAnnotations: statusWith({ mode: 'cni', args: ['--ipv6=off'] }), config: { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'fd00:250::9/64' }] } } });
    await expectError(ctx, await env.run(pod, 'ADD', v6Off), 101, /only IPv6 addresses but its capture settings say --ipv6 off/, 'nothing left to capture');
  });

  test('an ADD that fails half-way leaves the namespace as it was (IPv6 refused after IPv4 was read)', { timeout: 60_000 }, async (t) => {
    const ctx = await setUp(t);
    if (ctx === undefined) return;
    const { env } = ctx;
    // IPv6 switched off on lo: the proxy's inbound source ::6 cannot be added, so IPv6 capture
    // cannot be set up while the pod still has an IPv6 address on eth0.
    const pod = await env.node.addPod('half');
    await runChecked(inNamespace(pod.ns, ['sysctl', '-qw', 'net.ipv6.conf.lo.disable_ipv6=1']));
    const before = await snapshotNamespace(pod.ns);
    const add = await env.run(pod, 'ADD', web(env, { runtimeAnnotations: meshedAnnotations }));
    assert.equal(add.json?.code, 102, describeOutcome('ADD', add));
    assert.match(String(add.json?.msg), /capture rules not installed .*::6\/128/);
    assert.equal(await snapshotNamespace(pod.ns), before);
    await env.node.removePod(pod);
  });
});

function tokenOf(env: PluginEnv, identity: string): string {
  const result = env.cluster.cp.kubectlOk(['config', 'view', '--raw', '-o', 'jsonpath={.users[0].user.token}'], { kubeconfig: env.cluster.cp.kubeconfigOf(identity) });
  return result.trim();
}
