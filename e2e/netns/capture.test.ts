// pillion-init end to end on the real kernel: for each iptables backend, a pod namespace and a
// peer namespace (see e2e/support/topology.ts), rules applied by the built CLI, real proxies
// under uid/gid 1337, and the whole traffic matrix for IPv4 and IPv6. One topology per backend
// is shared by its cases, which run in order; each case first asks for the configuration it
// needs (ensureConfig), so a failing case does not silently change what later cases test.
import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { requirePrivileges } from '../../test/support/privileges.js';
import { expectReply, sendProbe } from '../support/connect.js';
import { nftRuleset, restoreRules, saveBothFamilies, type Backend, type Family } from '../support/iptables.js';
import { describeRun, exitCodes, runPillionInit } from '../support/pillion-init.js';
import { proxyEntries, waitForProxyEntry } from '../support/proxy-log.js';
import { APP, PROXY, PROXY_GROUP_MEMBER, ROOT, buildPodTopology, dnsPort, type PodTopology } from '../support/topology.js';
import { assertDirect, assertProxied } from '../support/verdicts.js';

const families = [4, 6] as const;

function binariesFor(backend: Backend): string[] {
  const base = ['ip', 'setpriv', 'python3', 'haproxy', `iptables-${backend}`, `ip6tables-${backend}`];
  return backend === 'nft' ? [...base, 'nft'] : base;
}

// Pre-existing rules that have nothing to do with Pillion: apply and cleanup must leave them alone.
function unrelatedRules(destination: string): { text: string; lines: string[] } {
  const filter = ['-A INPUT -p tcp -m tcp --dport 4445 -j ACCEPT'];
  const nat = ['-A E2E_UNRELATED -p tcp -m tcp --dport 4444 -j RETURN', `-A OUTPUT -d ${destination} -p tcp -j E2E_UNRELATED`];
  return { text: ['*filter', ...filter, 'COMMIT', '*nat', ':E2E_UNRELATED - [0:0]', ...nat, 'COMMIT', ''].join('\n'), lines: [...filter, ...nat] };
}

const unrelated: Record<Family, { text: string; lines: string[] }> = {
  4: unrelatedRules('198.51.100.7/32'),
  6: unrelatedRules('2001:db8::7/128'),
};

type ConfigName = 'default' | 'excludes' | 'includes' | 'dns';

/** The apply flags of each configuration under test, beyond --backend and --ipv6 on. */
function configFlags(name: ConfigName, topo: PodTopology): string[] {
  const a4 = topo.addresses[4];
  const a6 = topo.addresses[6];
  switch (name) {
    case 'default':
      return [];
    case 'excludes':
      return [
        '--exclude-inbound-ports', '15021,15090,9090',
        '--exclude-outbound-cidrs', `${a4.peerAlt}/${a4.hostPrefix},${a6.peerAlt}/${a6.hostPrefix}`,
        '--exclude-outbound-ports', '7070',
        '--exclude-interfaces', topo.secondInterface,
      ];
    case 'includes':
      return ['--outbound-cidrs', `${a4.peer}/${a4.hostPrefix},${a6.peer}/${a6.hostPrefix}`, '--outbound-ports', '8080', '--inbound-ports', '8080'];
    case 'dns':
      return ['--redirect-dns', '--dns-port', String(dnsPort)];
  }
}

interface Env {
  readonly topo: PodTopology;
  readonly backend: Backend;
  /** Rules before any apply (normalised), with the unrelated rules in place. */
  readonly baseline: Record<Family, string>;
  readonly baselineNft: string | undefined;
  current: ConfigName | undefined;
}

async function buildEnv(backend: Backend, index: number): Promise<Env> {
  const topo = await buildPodTopology(backend === 'legacy' ? 'lg' : 'nf', index);
  try {
    for (const family of families) await restoreRules(topo.pod, backend, family, unrelated[family].text);
    const baseline = await saveBothFamilies(topo.pod, backend);
    for (const family of families) {
      for (const line of unrelated[family].lines) assert.ok(baseline[family].includes(line), `baseline lacks ${line}:\n${baseline[family]}`);
    }
    const baselineNft = backend === 'nft' ? await nftRuleset(topo.pod) : undefined;
    return { topo, backend, baseline, baselineNft, current: undefined };
  } catch (error) {
    await topo.destroy();
    throw error;
  }
}

function applyArgs(env: Env, name: ConfigName): string[] {
  return ['apply', '--backend', env.backend, '--ipv6', 'on', ...configFlags(name, env.topo)];
}

async function apply(env: Env, name: ConfigName): Promise<void> {
  env.current = undefined; // unknown until apply succeeds
  const args = applyArgs(env, name);
  const result = await runPillionInit(env.topo.pod, args);
  assert.equal(result.exitCode, exitCodes.ok, describeRun(args, result));
  env.current = name;
}

async function ensureConfig(env: Env, name: ConfigName): Promise<void> {
  if (env.current !== name) await apply(env, name);
}

async function cleanup(env: Env): Promise<void> {
  env.current = undefined;
  const args = ['cleanup', '--backend', env.backend, '--ipv6', 'on'];
  const result = await runPillionInit(env.topo.pod, args);
  assert.equal(result.exitCode, exitCodes.ok, describeRun(args, result));
}

async function assertRestored(env: Env, when: string): Promise<void> {
  const now = await saveBothFamilies(env.topo.pod, env.backend);
  for (const family of families) {
    assert.equal(now[family], env.baseline[family], `IPv${family} rules ${when} differ from before apply`);
  }
  if (env.baselineNft !== undefined) {
    assert.equal(await nftRuleset(env.topo.pod), env.baselineNft, `nft ruleset ${when} differs from before apply`);
  }
}

function backendSuite(backend: Backend, index: number): void {
  describe(`pillion-init --backend ${backend} in a pod network namespace`, () => {
    let envPromise: Promise<Env> | undefined;
    const binaries = binariesFor(backend);
    /** Privilege gate, then the shared topology (built by the first case that needs it). */
    const setUp = async (t: TestContext): Promise<Env | undefined> => {
      if (!requirePrivileges(t, binaries)) return undefined;
      return (envPromise ??= buildEnv(backend, index));
    };
    after(async () => {
      const env = await envPromise?.catch(() => undefined);
      if (env !== undefined) {
        // Rules die with the namespace; cleanup is still attempted so a crashed run leaves nothing.
        await runPillionInit(env.topo.pod, ['cleanup', '--backend', backend, '--ipv6', 'on']).catch(() => undefined);
        await env.topo.destroy();
      }
    });

    // ---- default configuration: capture everything except the proxy, loopback and the defaults ----
    for (const family of families) {
      test(`IPv${family} outbound: app → peer:8080 goes through the proxy, which sees the original destination`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'default');
        const a = env.topo.addresses[family];
        await assertProxied(env.topo.services.proxy[family], () => sendProbe(env.topo.pod, APP, 'tcp', a.peer, 8080), { listener: 'outbound', server: 'peer', origAddr: a.peer, origPort: 8080 }, 'app → peer:8080');
      });

      test(`IPv${family} inbound: peer → app:8080 goes through the proxy and arrives from ${family === 4 ? '127.0.0.6' : '::6'}`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'default');
        const a = env.topo.addresses[family];
        const { reply } = await assertProxied(env.topo.services.proxy[family], () => sendProbe(env.topo.peer, ROOT, 'tcp', a.pod, 8080), { listener: 'inbound', server: 'app', origAddr: a.pod, origPort: 8080 }, 'peer → app:8080');
        assert.equal(reply.peer_addr, a.inboundSource, 'the app should see the proxy\'s inbound source address');
      });

      test(`IPv${family} inbound: ssh port 22 and default-excluded 15021, 15090 reach the app directly`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'default');
        const a = env.topo.addresses[family];
        for (const port of [22, 15021, 15090]) {
          assertDirect(await sendProbe(env.topo.peer, ROOT, 'tcp', a.pod, port), 'app', `peer → app:${port}`);
        }
      });

      test(`IPv${family} the proxy's own traffic (uid 1337) is not re-captured`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'default');
        assertDirect(await sendProbe(env.topo.pod, PROXY, 'tcp', env.topo.addresses[family].peer, 8080), 'peer', 'uid 1337 → peer:8080');
      });

      test(`IPv${family} a process with gid 1337 and another uid is not captured (gid exemption)`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'default');
        assertDirect(
          await sendProbe(env.topo.pod, PROXY_GROUP_MEMBER, 'tcp', env.topo.addresses[family].peer, 8080),
          'peer',
          'uid 1001 gid 1337 → peer:8080',
        );
      });

      test(`IPv${family} loopback: app → ${family === 4 ? '127.0.0.1' : '[::1]'}:8080 (another container) is not captured`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'default');
        assertDirect(await sendProbe(env.topo.pod, APP, 'tcp', env.topo.addresses[family].loopback, 8080), 'app', 'app → loopback:8080');
      });

      test(`IPv${family} app → its own pod IP goes outbound then inbound through the proxy, once, and reaches the app`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'default');
        const a = env.topo.addresses[family];
        const proxy = env.topo.services.proxy[family];
        const mark = proxy.lines.length;
        const { reply } = await assertProxied(proxy, () => sendProbe(env.topo.pod, APP, 'tcp', a.pod, 8080, 3), { listener: 'outbound', server: 'app', origAddr: a.pod, origPort: 8080 }, 'app → own pod IP:8080');
        assert.equal(reply.peer_addr, a.inboundSource, 'the hairpin should be delivered by the inbound listener');
        await waitForProxyEntry(proxy, (e) => e.listener === 'inbound' && e.orig_addr === a.pod && e.orig_port === 8080, mark);
        // A capture loop would keep adding entries for the same destination; give it time to show.
        await new Promise((resolve) => setTimeout(resolve, 500));
        const legs = proxyEntries(proxy, mark)
          .filter((e) => e.orig_addr === a.pod && e.orig_port === 8080)
          .map((e) => e.listener);
        assert.deepEqual(legs.sort(), ['inbound', 'outbound'], 'exactly one outbound and one inbound leg');
      });

      test(`IPv${family} without --redirect-dns, UDP DNS to the peer is untouched`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'default');
        assertDirect(await sendProbe(env.topo.pod, APP, 'udp', env.topo.addresses[family].peer, 53), 'peer', 'app → peer:53/udp');
      });
    }

    test('verify passes (exit 0) after apply', async (t) => {
      const env = await setUp(t);
      if (env === undefined) return;
      await ensureConfig(env, 'default');
      const args = ['verify', ...applyArgs(env, 'default').slice(1)];
      const result = await env.topo.withProxiesStopped(() => runPillionInit(env.topo.pod, args));
      assert.equal(result.exitCode, exitCodes.ok, describeRun(args, result));
    });

    test('apply keeps the unrelated pre-existing rules, and re-applying the same configuration changes nothing', async (t) => {
      const env = await setUp(t);
      if (env === undefined) return;
      await ensureConfig(env, 'default');
      const first = await saveBothFamilies(env.topo.pod, backend);
      for (const family of families) {
        for (const line of unrelated[family].lines) assert.ok(first[family].includes(line), `IPv${family}: apply removed ${line}`);
        assert.notEqual(first[family], env.baseline[family], `IPv${family}: apply changed nothing`);
      }
      await apply(env, 'default');
      const second = await saveBothFamilies(env.topo.pod, backend);
      assert.deepEqual(second, first, 're-apply changed the rules');
    });

    test('a bad flag value exits 2 (usage) and leaves the applied rules untouched', async (t) => {
      const env = await setUp(t);
      if (env === undefined) return;
      await ensureConfig(env, 'default');
      const before = await saveBothFamilies(env.topo.pod, backend);
      for (const bad of [['--inbound-ports', '99999'], ['--exclude-outbound-cidrs', '10.0.0.0/33'], ['--backend', 'bogus']]) {
        const args = ['apply', '--backend', backend, '--ipv6', 'on', ...bad];
        const result = await runPillionInit(env.topo.pod, args);
        assert.equal(result.exitCode, exitCodes.usage, describeRun(args, result));
        assert.match(result.stderr, new RegExp(bad[0] ?? ''), `the error should name ${bad[0]}`);
      }
      assert.deepEqual(await saveBothFamilies(env.topo.pod, backend), before, 'a rejected apply changed the rules');
    });

    // ---- exclusions ----
    for (const family of families) {
      test(`IPv${family} --exclude-inbound-ports: 9090 reaches the app directly, 8080 is still captured`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'excludes');
        const a = env.topo.addresses[family];
        assertDirect(await sendProbe(env.topo.peer, ROOT, 'tcp', a.pod, 9090), 'app', 'peer → app:9090');
        await assertProxied(env.topo.services.proxy[family], () => sendProbe(env.topo.peer, ROOT, 'tcp', a.pod, 8080), { listener: 'inbound', server: 'app', origAddr: a.pod, origPort: 8080 }, 'peer → app:8080');
      });

      test(`IPv${family} --exclude-outbound-cidrs: the excluded peer address bypasses the proxy, the other is captured`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'excludes');
        const a = env.topo.addresses[family];
        assertDirect(await sendProbe(env.topo.pod, APP, 'tcp', a.peerAlt, 8080), 'peer', 'app → excluded peer address:8080');
        await assertProxied(env.topo.services.proxy[family], () => sendProbe(env.topo.pod, APP, 'tcp', a.peer, 8080), { listener: 'outbound', server: 'peer', origAddr: a.peer, origPort: 8080 }, 'app → peer:8080');
      });

      test(`IPv${family} --exclude-outbound-ports: 7070 bypasses the proxy`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'excludes');
        assertDirect(await sendProbe(env.topo.pod, APP, 'tcp', env.topo.addresses[family].peer, 7070), 'peer', 'app → peer:7070');
      });

      test(`IPv${family} --exclude-interfaces: traffic over the second link bypasses the proxy both ways`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'excludes');
        const a = env.topo.addresses[family];
        assertDirect(await sendProbe(env.topo.pod, APP, 'tcp', a.peer2, 8080), 'peer', 'app → peer over pod1');
        assertDirect(await sendProbe(env.topo.peer, ROOT, 'tcp', a.pod2, 8080), 'app', 'peer → app over pod1');
      });
    }

    test('a different configuration converges: old rules are gone, same rules as a fresh apply', async (t) => {
      const env = await setUp(t);
      if (env === undefined) return;
      await ensureConfig(env, 'default');
      const before = await saveBothFamilies(env.topo.pod, backend);
      await apply(env, 'excludes');
      const converged = await saveBothFamilies(env.topo.pod, backend);
      for (const family of families) assert.notEqual(converged[family], before[family], `IPv${family}: the new configuration changed nothing`);
      await cleanup(env);
      await assertRestored(env, 'after cleanup');
      await apply(env, 'excludes');
      const fresh = await saveBothFamilies(env.topo.pod, backend);
      assert.deepEqual(converged, fresh, 'rules after default→excludes differ from a fresh apply of excludes');
    });

    // ---- include-lists ----
    for (const family of families) {
      test(`IPv${family} --outbound-cidrs/--outbound-ports: only the listed address and port are captured`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'includes');
        const a = env.topo.addresses[family];
        await assertProxied(env.topo.services.proxy[family], () => sendProbe(env.topo.pod, APP, 'tcp', a.peer, 8080), { listener: 'outbound', server: 'peer', origAddr: a.peer, origPort: 8080 }, 'app → peer:8080');
        assertDirect(await sendProbe(env.topo.pod, APP, 'tcp', a.peer, 8081), 'peer', 'app → peer:8081 (port not listed)');
        assertDirect(await sendProbe(env.topo.pod, APP, 'tcp', a.peerAlt, 8080), 'peer', 'app → other peer address:8080 (CIDR not listed)');
      });

      test(`IPv${family} --inbound-ports: only listed inbound ports are captured`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'includes');
        const a = env.topo.addresses[family];
        await assertProxied(env.topo.services.proxy[family], () => sendProbe(env.topo.peer, ROOT, 'tcp', a.pod, 8080), { listener: 'inbound', server: 'app', origAddr: a.pod, origPort: 8080 }, 'peer → app:8080');
        assertDirect(await sendProbe(env.topo.peer, ROOT, 'tcp', a.pod, 8081), 'app', 'peer → app:8081 (port not listed)');
      });
    }

    // ---- DNS ----
    for (const family of families) {
      test(`IPv${family} --redirect-dns: app DNS over UDP and TCP to the peer lands on the pod's DNS port`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'dns');
        const a = env.topo.addresses[family];
        for (const proto of ['udp', 'tcp'] as const) {
          const reply = expectReply(await sendProbe(env.topo.pod, APP, proto, a.peer, 53), `app → peer:53/${proto}`);
          assert.equal(reply.server, 'pod-dns', `app → peer:53/${proto} answered by ${reply.server}`);
          assert.equal(reply.local_port, dnsPort);
        }
      });

      test(`IPv${family} --redirect-dns: the proxy's own DNS (uid 1337) reaches the peer`, async (t) => {
        const env = await setUp(t);
        if (env === undefined) return;
        await ensureConfig(env, 'dns');
        for (const proto of ['udp', 'tcp'] as const) {
          assertDirect(await sendProbe(env.topo.pod, PROXY, proto, env.topo.addresses[family].peer, 53), 'peer', `uid 1337 → peer:53/${proto}`);
        }
      });
    }

    // ---- cleanup ----
    test('cleanup restores both families exactly as before apply, keeping the unrelated rules', async (t) => {
      const env = await setUp(t);
      if (env === undefined) return;
      if (env.current === undefined) await apply(env, 'dns');
      await cleanup(env);
      await assertRestored(env, 'after cleanup');
    });

    test('verify fails with exit 126 after cleanup', async (t) => {
      const env = await setUp(t);
      if (env === undefined) return;
      if (env.current !== undefined) await cleanup(env);
      const args = ['verify', ...applyArgs(env, 'default').slice(1)];
      const result = await env.topo.withProxiesStopped(() => runPillionInit(env.topo.pod, args));
      assert.equal(result.exitCode, exitCodes.verifyFailed, describeRun(args, result));
    });
  });
}

backendSuite('legacy', 1);
backendSuite('nft', 2);
