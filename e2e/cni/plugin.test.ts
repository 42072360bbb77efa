// pillion-cni end to end: the self-contained executable, run by the CNI protocol (environment +
// stdin) with Node absent from PATH, chained after Debian's loopback, bridge and host-local in
// real network namespaces (a namespace plays the node), with pods stored in the real
// kube-apiserver test peer. Real proxies prove that captured traffic reaches the proxy with its
// original destination; snapshots prove that everything else leaves the namespace as it was.
import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { sendProbe } from '../support/connect.js';
import { saveRules } from '../support/iptables.js';
import { createNamespace, deleteNamespace, inNamespace, runChecked, uniqueName } from '../support/netns.js';
import { describeRun, runPillionInit } from '../support/pillion-init.js';
import { APP, ROOT } from '../support/topology.js';
import { assertProxied } from '../support/verdicts.js';
import { describeOutcome } from './support/cni-runner.js';
import { gateway } from './support/node-chain.js';
import { startProxies, startServer } from './support/pod-services.js';
import { canonicalArgs, meshedAnnotations, requirePluginPeers, snapshotNamespace, startPluginEnv, statusWith, type PluginEnv } from './support/plugin-env.js';

describe('pillion-cni chained after bridge + host-local, pods in a real API server', () => {
  let envPromise: Promise<PluginEnv> | undefined;
  const setUp = async (t: TestContext): Promise<PluginEnv | undefined> => {
    const peers = requirePluginPeers(t);
    if (peers === undefined) return undefined;
    return (envPromise ??= startPluginEnv(peers.bin, peers.kubectl));
  };
  after(async () => {
    const env = await envPromise?.catch(() => undefined);
    await env?.destroy();
  });

  test('a meshed pod, read from the API server, is captured: IPv4 and IPv6 reach the proxy with their original destination', { timeout: 120_000 }, async (t) => {
    const env = await setUp(t);
    if (env === undefined) return;
    const pod = await env.node.addPod('mesh');
    const app = await startServer(pod.ns, 'app', [8080]);
    t.after(() => app.stop());
    const calls = env.cluster.gate.connections;
    const add = await env.run(pod, 'ADD', { pod: env.pods.web });
    assert.equal(add.exitCode, 0, describeOutcome('ADD', add));
    assert.deepEqual(add.json, pod.prevResult, 'the previous result passes through unchanged');
    assert.equal(env.cluster.gate.connections - calls, 1, 'one GET of the pod');
    for (const family of [4, 6] as const) assert.match(await saveRules(pod.ns, 'nft', family), /-A OUTPUT -p tcp -m comment --comment "pillion: outbound capture" -j PILLION_OUTPUT/);

    const proxies = await startProxies(pod.ns);
    t.after(() => proxies.stop());
    for (const family of [4, 6] as const) {
      await assertProxied(proxies[family], () => sendProbe(pod.ns, APP, 'tcp', gateway[family], 8080), { listener: 'outbound', server: 'node', origAddr: gateway[family], origPort: 8080 }, `IPv${family} app → node:8080`);
    }
    const inbound = await assertProxied(proxies[4], () => sendProbe(env.node.ns, ROOT, 'tcp', pod.ip[4], 8080), { listener: 'inbound', server: 'app', origAddr: pod.ip[4], origPort: 8080 }, 'node → pod:8080');
    assert.equal(inbound.reply.peer_addr, '127.0.0.6');
  });

  test('a repeated ADD converges; CHECK passes, fails once the rules are flushed, and passes after ADD repairs them', { timeout: 60_000 }, async (t) => {
    const env = await setUp(t);
    if (env === undefined) return;
    const pod = await env.node.addPod('conv');
    const call = { pod: env.pods.web, runtimeAnnotations: meshedAnnotations };
    assert.equal((await env.run(pod, 'ADD', call)).exitCode, 0);
    const installed = await snapshotNamespace(pod.ns);
    const again = await env.run(pod, 'ADD', call);
    assert.equal(again.exitCode, 0, describeOutcome('second ADD', again));
    assert.equal(await snapshotNamespace(pod.ns), installed, 'a second ADD changes nothing');

    const check = await env.run(pod, 'CHECK', call);
    assert.equal(check.exitCode, 0, describeOutcome('CHECK', check));
    assert.equal(check.stdout, '', 'CHECK prints nothing on success');
    await runChecked(inNamespace(pod.ns, ['iptables-nft', '-t', 'nat', '-F', 'PILLION_OUTPUT']));
    const flushed = await env.run(pod, 'CHECK', call);
    assert.notEqual(flushed.exitCode, 0);
    assert.equal(flushed.json?.code, 103, describeOutcome('CHECK after flush', flushed));
    assert.match(String(flushed.json?.msg), /not as planned for IPv4 \(nft\)/);
    assert.equal((await env.run(pod, 'ADD', call)).exitCode, 0);
    assert.equal(await snapshotNamespace(pod.ns), installed, 'ADD restores exactly the planned rules');
    assert.equal((await env.run(pod, 'CHECK', call)).exitCode, 0);
  });

  test('DEL removes the rules, is idempotent, and succeeds once the namespace is gone', { timeout: 60_000 }, async (t) => {
    const env = await setUp(t);
    if (env === undefined) return;
    const pod = await env.node.addPod('del');
    const before = await snapshotNamespace(pod.ns);
    const call = { pod: env.pods.web, runtimeAnnotations: meshedAnnotations };
    assert.equal((await env.run(pod, 'ADD', call)).exitCode, 0);
    assert.notEqual(await snapshotNamespace(pod.ns), before);
    for (const round of [1, 2]) {
      const del = await env.run(pod, 'DEL', call);
      assert.equal(del.exitCode, 0, describeOutcome(`DEL #${round}`, del));
      assert.equal(del.stdout, '');
    }
    const after = await snapshotNamespace(pod.ns);
    assert.doesNotMatch(after, /PILLION/);
    assert.equal(after.replace(/\n.*inet6 ::6\/128.*/g, ''), before, 'only ::6 on lo stays (as pillion-init cleanup leaves it)');
    const check = await env.run(pod, 'CHECK', call);
    assert.equal(check.json?.code, 103, 'CHECK after DEL fails');
    await env.node.removePod(pod);
    const gone = await env.run(pod, 'DEL', { ...call, config: { prevResult: undefined } });
    assert.equal(gone.exitCode, 0, describeOutcome('DEL without a namespace', gone));
    const garbage = await env.run(pod, 'DEL', { ...call, config: { cniVersion: '9.9.9' } });
    assert.equal(garbage.exitCode, 0, describeOutcome('DEL with an unknown version', garbage));
  });

  test('init mode and CNI mode give identical iptables-save for the same settings', { timeout: 60_000 }, async (t) => {
    const env = await setUp(t);
    if (env === undefined) return;
    const pod = await env.node.addPod('same');
    assert.equal((await env.run(pod, 'ADD', { pod: env.pods.web, runtimeAnnotations: meshedAnnotations })).exitCode, 0);
    const initNs = uniqueName('pcn-initmode');
    await createNamespace(initNs);
    t.after(() => deleteNamespace(initNs));
    const init = await runPillionInit(initNs, canonicalArgs);
    assert.equal(init.exitCode, 0, describeRun(canonicalArgs, init));
    for (const family of [4, 6] as const) {
      const cni = await saveRules(pod.ns, 'nft', family);
      assert.match(cni, /PILLION_OUTPUT/, 'not vacuous');
      assert.equal(cni, await saveRules(initNs, 'nft', family), `IPv${family}`);
    }
  });

  test('a pod that is not meshed keeps its result and its namespace, and costs no API call', { timeout: 60_000 }, async (t) => {
    const env = await setUp(t);
    if (env === undefined) return;
    const pod = await env.node.addPod('plain');
    const before = await snapshotNamespace(pod.ns);
    const calls = env.cluster.gate.connections;
    const cases = [
      { what: 'runtime annotations without Pillion\'s', call: { pod: env.pods.plain, runtimeAnnotations: { 'team.example/owner': 'shop' } } },
      { what: 'runtime annotations of an init-mode pod', call: { pod: env.pods.webInit, runtimeAnnotations: statusWith({ mode: 'init' }) } },
      { what: 'an excluded namespace (no annotations passed)', call: { pod: { namespace: 'kube-system', name: 'coredns-1' } } },
      { what: 'a sandbox that is not a Kubernetes pod', call: { pod: { namespace: '', name: '' } } },
    ];
    for (const { what, call } of cases) {
      const add = await env.run(pod, 'ADD', call);
      assert.equal(add.exitCode, 0, describeOutcome(what, add));
      assert.deepEqual(add.json, pod.prevResult, what);
      assert.equal((await env.run(pod, 'CHECK', call)).exitCode, 0, `CHECK: ${what}`);
    }
    assert.equal(env.cluster.gate.connections, calls, 'no API call');
    for (const ref of [env.pods.plain, env.pods.webInit]) {
      const add = await env.run(pod, 'ADD', { pod: ref });
      assert.equal(add.exitCode, 0, describeOutcome(`${ref.name} via the API server`, add));
      assert.deepEqual(add.json, pod.prevResult);
    }
    assert.equal(env.cluster.gate.connections - calls, 2, 'one GET per pod the runtime said nothing about');
    assert.equal(await snapshotNamespace(pod.ns), before, 'namespace untouched');
  });
});
