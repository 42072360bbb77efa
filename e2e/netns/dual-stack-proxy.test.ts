// The bundled haproxy template, exactly as the injector renders it, on the real kernel in a
// dual-stack pod and in an IPv4-only pod. The pod is rendered by injectPod (pillion.dev/templates:
// haproxy); the test runs the init container's args with its env (pillion-init apply) and the
// proxy container's command with its env (PILLION_HAPROXY_CONFIG), as uid/gid 1337 with a private
// /tmp (the pod's emptyDir). Nothing of the configuration is written by the test.
//
// What the template promises (templates/haproxy.yaml): IPv4 is captured and forwarded, outbound to
// the original destination and inbound from 127.0.0.6; IPv6 is NOT captured (haproxy cannot read an
// IPv6 original destination, so the init container runs with PILLION_IPV6=off) and flows directly;
// readiness and metrics answer on IPv4 and IPv6; an IPv4-only pod (IPv6 disabled by sysctl) starts.
//
// Proxied or direct is read from both ends (see docs/testing-netns.md) and, independently, from
// haproxy's own Prometheus counters (haproxy_frontend_connections_total per frontend).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultInjectorConfig } from '../../injector/core/config.js';
import { injectPod } from '../../injector/core/inject.js';
import { isPlainObject } from '../../injector/core/json.js';
import type { InjectContext, JsonObject } from '../../injector/core/types.js';
import { bundledTemplates } from '../../test/injector/core/fixture-support.js';
import { repoPath, shippedPillionInitBin } from '../../test/support/paths.js';
import { privilegedBlocker, skipOrFail } from '../../test/support/privileges.js';
import { reachedDirectly, sendProbe, type ConnectResult } from '../support/connect.js';
import {
  addAddress,
  addVethPair,
  asIdentity,
  createNamespace,
  deleteNamespace,
  inNamespace,
  python3,
  runChecked,
  runCommand,
  uniqueName,
} from '../support/netns.js';
import { Service } from '../support/process.js';
import { APP, PROXY, waitForListeners } from '../support/topology.js';

const binaries = ['ip', 'setpriv', 'unshare', 'mount', 'python3', 'haproxy', 'sh'];
const serversScript = repoPath('e2e', 'support', 'servers.py');
const blocker = privilegedBlocker(binaries);

// ---- the rendered pod ----------------------------------------------------------------------------

interface Rendered {
  readonly initArgs: string[];
  readonly initEnv: Record<string, string>;
  readonly proxyCommand: string[];
  readonly proxyEnv: Record<string, string>;
}

function containerNamed(pod: JsonObject, list: string, name: string): JsonObject {
  const spec = pod.spec as JsonObject;
  const found = (spec[list] as JsonObject[] | undefined)?.find((c) => c.name === name);
  assert.ok(found !== undefined && isPlainObject(found), `no ${list} ${name} in the injected pod`);
  return found;
}

function envOf(container: JsonObject): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of (container.env as JsonObject[] | undefined) ?? []) {
    assert.equal(typeof entry.value, 'string', `env ${String(entry.name)} has no literal value`);
    env[entry.name as string] = entry.value as string;
  }
  return env;
}

function renderHaproxyPod(): Rendered {
  const ctx: InjectContext = { mode: 'candidate', namespace: 'shop', namespaceLabels: undefined };
  const pod: JsonObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', namespace: 'shop', annotations: { 'pillion.dev/templates': 'haproxy' } },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
  };
  const result = injectPod(pod, ctx, { config: defaultInjectorConfig, templates: bundledTemplates() });
  assert.equal(result.kind, 'injected');
  if (result.kind !== 'injected') throw new Error('not injected');
  // Native sidecar (initContainers) or regular container, depending on the default config.
  const spec = result.pod.spec as JsonObject;
  const list = (spec.initContainers as JsonObject[] | undefined)?.some((c) => c.name === 'pillion-proxy') === true ? 'initContainers' : 'containers';
  const proxy = containerNamed(result.pod, list, 'pillion-proxy');
  const init = containerNamed(result.pod, 'initContainers', 'pillion-init');
  assert.deepEqual((proxy.securityContext as JsonObject).runAsUser, PROXY.uid);
  assert.deepEqual((proxy.securityContext as JsonObject).runAsGroup, PROXY.gid);
  return {
    initArgs: init.args as string[],
    initEnv: envOf(init),
    proxyCommand: proxy.command as string[],
    proxyEnv: envOf(proxy),
  };
}

// ---- the pods ------------------------------------------------------------------------------------

interface Addresses {
  readonly pod4: string;
  readonly peer4: string;
  readonly pod6: string;
  readonly peer6: string;
}

interface Pod {
  readonly pod: string;
  readonly peer: string;
  readonly a: Addresses;
  readonly proxy: Service;
  destroy(): Promise<void>;
}

/** The environment of a container: a minimal PATH plus exactly what the pod spec sets. */
function containerEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env };
}

async function buildPod(tag: string, index: number, rendered: Rendered, ipv6: boolean): Promise<Pod> {
  const pod = uniqueName(`pl-${tag}-pod`);
  const peer = uniqueName(`pl-${tag}-peer`);
  const undo: (() => Promise<void>)[] = [];
  const destroy = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const a: Addresses = { pod4: `10.243.${index}.2`, peer4: `10.243.${index}.1`, pod6: `fd00:243:${index}::2`, peer6: `fd00:243:${index}::1` };
    await createNamespace(pod);
    undo.push(() => deleteNamespace(pod));
    await createNamespace(peer);
    undo.push(() => deleteNamespace(peer));
    if (!ipv6) {
      // An IPv4-only pod: IPv6 switched off in the pod's namespace before any link exists.
      for (const key of ['all', 'default', 'lo']) await runChecked(inNamespace(pod, ['sysctl', '-q', '-w', `net.ipv6.conf.${key}.disable_ipv6=1`]));
    }
    await addVethPair({ ns: pod, ifname: 'eth0' }, { ns: peer, ifname: 'peer0' });
    await addAddress({ ns: pod, ifname: 'eth0' }, `${a.pod4}/24`);
    await addAddress({ ns: peer, ifname: 'peer0' }, `${a.peer4}/24`);
    if (ipv6) {
      await addAddress({ ns: pod, ifname: 'eth0' }, `${a.pod6}/64`);
      await addAddress({ ns: peer, ifname: 'peer0' }, `${a.peer6}/64`);
    }
    const started = async (s: Promise<Service>): Promise<Service> => {
      const service = await s;
      undo.push(() => service.stop());
      return service;
    };
    await started(Service.start('app', inNamespace(pod, asIdentity(APP, [python3, serversScript, '--name', 'app', '--tcp', '8080'])), { ready: /^READY$/ }));
    await started(Service.start('peer', inNamespace(peer, [python3, serversScript, '--name', 'peer', '--tcp', '8080']), { ready: /^READY$/ }));

    // The init container: the rendered args, the rendered env (and nothing else of this shell's).
    const init = await runCommand(inNamespace(pod, [process.execPath, shippedPillionInitBin, ...rendered.initArgs]), {
      env: containerEnv(rendered.initEnv),
      timeoutMs: 30_000,
    });
    assert.equal(init.exitCode, 0, `pillion-init ${rendered.initArgs.join(' ')} failed:\n${init.stderr}`);

    // The proxy container: its rendered command and env, as uid/gid 1337, in / (a container's
    // working directory; the checkout may itself lie under /tmp), with a private tmpfs on
    // /tmp (the pod's emptyDir; the script writes /tmp/haproxy.cfg there).
    const mountTmp = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs -o mode=1777 pod-tmp /tmp && cd / && exec "$@"', 'mount-tmp'];
    const proxy = await started(
      Service.start('haproxy-template', inNamespace(pod, [...mountTmp, ...asIdentity(PROXY, rendered.proxyCommand)]), {
        env: containerEnv(rendered.proxyEnv),
      }),
    );
    return { pod, peer, a, proxy, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

// ---- probes --------------------------------------------------------------------------------------

const httpGet = [
  'import sys, urllib.request',
  'r = urllib.request.urlopen(sys.argv[1], timeout=3)',
  'sys.stdout.write(str(r.status) + "\\n" + r.read().decode())',
].join('\n');

/** GET url from inside namespace ns; returns status line and body. */
async function get(ns: string, url: string): Promise<{ status: number; body: string }> {
  const out = await runChecked(inNamespace(ns, [python3, '-c', httpGet, url]), { timeoutMs: 15_000 });
  const [status = '', ...body] = out.split('\n');
  return { status: Number(status), body: body.join('\n') };
}

function url(host: string, port: number, path: string): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

/** haproxy_frontend_connections_total by frontend, read from the metrics listener over IPv4. */
async function frontendConnections(p: Pod): Promise<{ outbound: number; inbound: number }> {
  const { status, body } = await get(p.peer, url(p.a.pod4, 15090, '/stats/prometheus'));
  assert.equal(status, 200);
  const counts: Record<string, number> = {};
  for (const m of body.matchAll(/^haproxy_frontend_connections_total\{proxy="([^"]+)"\} (\d+)/gm)) counts[m[1]!] = Number(m[2]);
  // Only the capture listeners: the metrics frontend counts these very scrapes.
  return { outbound: counts.outbound ?? Number.NaN, inbound: counts.inbound ?? Number.NaN };
}

function show(r: ConnectResult): string {
  return JSON.stringify(r);
}

/** Outbound from the app (uid 1000) to the peer: must reach the peer re-originated by the proxy. */
function assertReproxied(r: ConnectResult, server: string, what: string): void {
  assert.ok(r.ok && r.reply !== undefined, `${what}: no reply (${show(r)})`);
  assert.equal(r.reply.server, server, `${what}: ${show(r)}`);
  assert.ok(!reachedDirectly(r), `${what}: the server saw the client's own source, no proxy in between (${show(r)})`);
}

// ---- the tests -----------------------------------------------------------------------------------

describe('haproxy template as rendered, dual-stack pod', () => {
  let p: Pod | undefined;
  let rendered: Rendered;
  before(async () => {
    if (blocker !== undefined) return;
    rendered = renderHaproxyPod();
    p = await buildPod('ds', 1, rendered, true);
    await waitForListeners(p.pod, ['0.0.0.0:15001', '0.0.0.0:15006', '0.0.0.0:15021', '[::]:15021', '0.0.0.0:15090', '[::]:15090'], p.proxy);
  });
  after(async () => {
    await p?.destroy();
  });

  test('the rendered pod: pillion-init runs with PILLION_IPV6=off, the proxy from the constant script', (t) => {
    if (blocker !== undefined || p === undefined) return skipOrFail(t, blocker ?? 'the pod was not built');
    assert.equal(rendered.initArgs[0], 'apply');
    assert.deepEqual(rendered.initEnv, { PILLION_IPV6: 'off' });
    assert.equal(rendered.proxyCommand[0], '/bin/sh');
    assert.match(rendered.proxyEnv.PILLION_HAPROXY_CONFIG ?? '', /^frontend inbound$/m);
  });

  test('IPv4 outbound: app -> peer goes through the proxy to the original destination', async (t) => {
    if (blocker !== undefined || p === undefined) return skipOrFail(t, blocker ?? 'the pod was not built');
    const before = await frontendConnections(p);
    const r = await sendProbe(p.pod, APP, 'tcp', p.a.peer4, 8080);
    assertReproxied(r, 'peer', 'IPv4 outbound');
    assert.equal(r.reply!.peer_addr, p.a.pod4, `the peer sees the pod IP as source: ${show(r)}`);
    assert.equal(r.reply!.local_addr, p.a.peer4);
    const after = await frontendConnections(p);
    assert.equal(after.outbound - before.outbound, 1, 'haproxy counted one outbound connection');
  });

  test('IPv4 inbound: peer -> app:8080 goes through the proxy and reaches the app from 127.0.0.6', async (t) => {
    if (blocker !== undefined || p === undefined) return skipOrFail(t, blocker ?? 'the pod was not built');
    const before = await frontendConnections(p);
    const r = await sendProbe(p.peer, APP, 'tcp', p.a.pod4, 8080);
    assert.ok(r.ok && r.reply !== undefined, `no reply: ${show(r)}`);
    assert.equal(r.reply.server, 'app');
    assert.equal(r.reply.peer_addr, '127.0.0.6', `the app sees the proxy's inbound source: ${show(r)}`);
    assert.equal(r.reply.local_addr, p.a.pod4, `to the original destination: ${show(r)}`);
    const after = await frontendConnections(p);
    assert.equal(after.inbound - before.inbound, 1, 'haproxy counted one inbound connection');
  });

  test('IPv4 inbound before the app listens: the proxy keeps trying, many times a second, and connects once it does', async (t) => {
    if (blocker !== undefined || p === undefined) return skipOrFail(t, blocker ?? 'the pod was not built');
    const pod = p;
    // An app still starting: its port bound but not listening, so connections are refused. The
    // kubelet's first readiness probe comes just then; haproxy's default would try again a
    // second later, past the probe's 1 s timeout.
    const gate = mkdtempSync(join(tmpdir(), 'pillion-late-app-'));
    chmodSync(gate, 0o755);
    t.after(() => rmSync(gate, { recursive: true, force: true }));
    const late = await Service.start('late-app', inNamespace(pod.pod, asIdentity(APP, [python3, serversScript, '--name', 'late', '--tcp', '8081', '--listen-when', join(gate, 'listen')])), { ready: /^BOUND$/ });
    t.after(() => late.stop());
    // The pod's own connection attempts that failed (only the proxy connects from inside it
    // here), read through a process in its namespace: no process start per reading.
    const inPod = (await runChecked(['ip', 'netns', 'pids', pod.pod])).split(/\s+/).find((pid) => /^\d+$/.test(pid));
    assert.ok(inPod !== undefined, 'a process in the pod namespace');
    const failedAttempts = (): number => {
      const snmp = readFileSync(`/proc/${inPod}/net/snmp`, 'utf8');
      const [names, values] = snmp.split('\n').filter((line) => line.startsWith('Tcp:')).map((line) => line.split(/\s+/));
      return Number(values?.[names?.indexOf('AttemptFails') ?? -1]);
    };
    const before = failedAttempts();
    let settled = false;
    const client = sendProbe(pod.peer, APP, 'tcp', pod.a.pod4, 8081, 5).finally(() => {
      settled = true;
    });
    // Twenty refused tries while the client waits (5 s at most): at haproxy's default pace, a
    // second apart, they would take 20 s, and it gives up after the fourth anyway.
    let tries = 0;
    while (!settled && (tries = failedAttempts() - before) < 20) await new Promise((r) => setTimeout(r, 5));
    if (settled) assert.fail(`the client's connection ended after ${tries} refused tries, before the app listened: ${show(await client)}`);
    writeFileSync(join(gate, 'listen'), '');
    await late.waitForLine((line) => line === 'READY', 10_000);
    const r = await client;
    assert.ok(r.ok && r.reply?.server === 'late', `no reply from the app once it listened: ${show(r)}`);
    assert.equal(r.reply.peer_addr, '127.0.0.6', show(r));
    const total = failedAttempts() - before;
    assert.ok(total >= 20 && total <= 61, `refused tries: ${total} (at most 60 retries)`);
  });

  test('IPv6 outbound: app -> peer works, directly (IPv6 is not captured)', async (t) => {
    if (blocker !== undefined || p === undefined) return skipOrFail(t, blocker ?? 'the pod was not built');
    const before = await frontendConnections(p);
    const r = await sendProbe(p.pod, APP, 'tcp', p.a.peer6, 8080);
    assert.ok(r.ok && r.reply?.server === 'peer', `no reply from the peer: ${show(r)}`);
    assert.ok(reachedDirectly(r), `expected the app's own source at the peer: ${show(r)}`);
    assert.equal(r.reply.peer_addr, p.a.pod6);
    assert.deepEqual(await frontendConnections(p), before, 'haproxy saw no connection');
  });

  test('IPv6 inbound: peer -> app:8080 works, directly from the peer (IPv6 is not captured)', async (t) => {
    if (blocker !== undefined || p === undefined) return skipOrFail(t, blocker ?? 'the pod was not built');
    const before = await frontendConnections(p);
    const r = await sendProbe(p.peer, APP, 'tcp', p.a.pod6, 8080);
    assert.ok(r.ok && r.reply?.server === 'app', `no reply from the app: ${show(r)}`);
    assert.ok(reachedDirectly(r), `expected the peer's own source at the app: ${show(r)}`);
    assert.equal(r.reply.peer_addr, p.a.peer6);
    assert.deepEqual(await frontendConnections(p), before, 'haproxy saw no connection');
  });

  test('readiness and metrics answer on the IPv4 and the IPv6 pod IP', async (t) => {
    if (blocker !== undefined || p === undefined) return skipOrFail(t, blocker ?? 'the pod was not built');
    for (const host of [p.a.pod4, p.a.pod6]) {
      const ready = await get(p.peer, url(host, 15021, '/healthz/ready'));
      assert.equal(ready.status, 200, `readiness on ${host}`);
      const metrics = await get(p.peer, url(host, 15090, '/stats/prometheus'));
      assert.equal(metrics.status, 200, `metrics on ${host}`);
      assert.match(metrics.body, /^haproxy_process_/m);
    }
  });
});

describe('haproxy template as rendered, IPv4-only pod (IPv6 disabled by sysctl)', () => {
  let p: Pod | undefined;
  before(async () => {
    if (blocker !== undefined) return;
    p = await buildPod('v4', 2, renderHaproxyPod(), false);
  });
  after(async () => {
    await p?.destroy();
  });

  test('the proxy starts and listens', async (t) => {
    if (blocker !== undefined || p === undefined) return skipOrFail(t, blocker ?? 'the pod was not built');
    // The kernel has IPv6 (/proc/net/if_inet6 exists), so the script adds the "::" binds: they
    // succeed although IPv6 is disabled in this namespace (a wildcard bind needs no address).
    await waitForListeners(p.pod, ['0.0.0.0:15001', '0.0.0.0:15006', '0.0.0.0:15021', '[::]:15021', '0.0.0.0:15090', '[::]:15090'], p.proxy);
    const ready = await get(p.peer, url(p.a.pod4, 15021, '/healthz/ready'));
    assert.equal(ready.status, 200);
  });

  test('IPv4 outbound and inbound go through the proxy', async (t) => {
    if (blocker !== undefined || p === undefined) return skipOrFail(t, blocker ?? 'the pod was not built');
    const before = await frontendConnections(p);
    const out = await sendProbe(p.pod, APP, 'tcp', p.a.peer4, 8080);
    assertReproxied(out, 'peer', 'IPv4 outbound');
    const inbound = await sendProbe(p.peer, APP, 'tcp', p.a.pod4, 8080);
    assert.ok(inbound.ok && inbound.reply?.server === 'app', `no reply: ${show(inbound)}`);
    assert.equal(inbound.reply.peer_addr, '127.0.0.6', show(inbound));
    const after = await frontendConnections(p);
    assert.equal(after.outbound - before.outbound, 1);
    assert.equal(after.inbound - before.inbound, 1);
  });
});
