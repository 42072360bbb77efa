// Template loading and the generated proxy configurations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultInjectorConfig } from '../../../injector/core/config.js';
import { SetupError } from '../../../injector/core/errors.js';
import { injectPod } from '../../../injector/core/inject.js';
import { bundledTemplatesDir, loadTemplates } from '../../../injector/core/templates.js';
import type { JsonObject } from '../../../injector/core/types.js';
import { bundledTemplates } from './fixture-support.js';

const candidate = { mode: 'candidate', namespace: 'shop', namespaceLabels: undefined } as const;

function injectWith(templates: string, config = defaultInjectorConfig): JsonObject {
  const pod = { metadata: { name: 'p', annotations: { 'pillion.dev/templates': templates } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };
  const result = injectPod(pod, candidate, { config, templates: bundledTemplates() });
  assert.equal(result.kind, 'injected');
  return result.kind === 'injected' ? result.pod : {};
}

function container(pod: JsonObject, name: string): JsonObject {
  const spec = pod.spec as JsonObject;
  const all = [...((spec.initContainers as JsonObject[] | undefined) ?? []), ...(spec.containers as JsonObject[])];
  const found = all.find((c) => c.name === name);
  assert.ok(found, `no container ${name}`);
  return found;
}

test('the bundled templates load and list their names', () => {
  const set = loadTemplates();
  assert.equal(set.dir, bundledTemplatesDir);
  assert.deepEqual(set.names, ['envoy', 'haproxy', 'proxy-logs']);
  assert.match(set.version, /^[0-9a-f]{12}$/);
});

test('the haproxy configuration the template generates is accepted by the real haproxy', (t) => {
  if (spawnSync('haproxy', ['-v']).status !== 0) return t.skip('haproxy is not installed (npm run setup)');
  const proxy = container(injectWith('haproxy'), 'pillion-proxy');
  const config = ((proxy.env as JsonObject[]).find((e) => e.name === 'PILLION_HAPROXY_CONFIG')?.value ?? '') as string;
  assert.match(config, /mode tcp/);
  assert.match(config, /bind 0\.0\.0\.0:15001\b/);
  assert.match(config, /bind 0\.0\.0\.0:15006\b/);
  assert.match(config, /source 127\.0\.0\.6\b/);
  assert.match(config, /server original_dst 0\.0\.0\.0:0\b/);
  const dir = mkdtempSync(join(tmpdir(), 'pillion-haproxy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'haproxy.cfg'), `${config}\n`);
  const check = spawnSync('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' });
  assert.equal(check.status, 0, `haproxy -c rejected the generated configuration:\n${check.stdout}${check.stderr}`);
});

test('the haproxy configuration really serves readiness and Prometheus metrics', async (t) => {
  if (spawnSync('haproxy', ['-v']).status !== 0) return t.skip('haproxy is not installed (npm run setup)');
  const proxy = container(injectWith('haproxy'), 'pillion-proxy');
  let config = ((proxy.env as JsonObject[]).find((e) => e.name === 'PILLION_HAPROXY_CONFIG')?.value ?? '') as string;
  // Same configuration, moved to free loopback ports so the test cannot collide with anything.
  const base = 20000 + (process.pid % 20000);
  config = config.replaceAll('0.0.0.0:15001', `127.0.0.1:${base}`).replaceAll('0.0.0.0:15006', `127.0.0.1:${base + 1}`)
    .replaceAll('0.0.0.0:15021', `127.0.0.1:${base + 2}`).replaceAll('0.0.0.0:15090', `127.0.0.1:${base + 3}`);
  const dir = mkdtempSync(join(tmpdir(), 'pillion-haproxy-'));
  writeFileSync(join(dir, 'haproxy.cfg'), `${config}\n`);
  const child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const fetchRetry = async (url: string): Promise<Response> => {
    for (let i = 0; ; i++) {
      try {
        return await fetch(url);
      } catch (error) {
        if (i > 100 || child.exitCode !== null) throw new Error(`haproxy not answering: ${String(error)}\n${stderr}`, { cause: error });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const ready = await fetchRetry(`http://127.0.0.1:${base + 2}/healthz/ready`);
  assert.equal(ready.status, 200);
  const metrics = await fetchRetry(`http://127.0.0.1:${base + 3}/stats/prometheus`);
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /^haproxy_process_/m);
});

test('the Envoy bootstrap is v3 pass-through with the documented listeners', () => {
  const proxy = container(injectWith('envoy'), 'pillion-proxy');
  const args = proxy.args as string[];
  const bootstrap = JSON.parse(args[args.indexOf('--config-yaml') + 1] ?? '') as JsonObject;
  const resources = bootstrap.static_resources as { listeners: JsonObject[]; clusters: JsonObject[] };
  const byName = new Map(resources.listeners.map((l) => [l.name, l]));
  const port = (l: JsonObject | undefined): unknown => ((l?.address as JsonObject).socket_address as JsonObject).port_value;
  assert.equal(port(byName.get('outbound')), 15001);
  assert.equal(port(byName.get('inbound')), 15006);
  assert.equal(port(byName.get('readiness')), 15021);
  assert.equal(port(byName.get('metrics')), 15090);
  assert.deepEqual((bootstrap.admin as JsonObject).address, { socket_address: { address: '127.0.0.1', port_value: 15000 } });
  for (const name of ['outbound', 'inbound']) {
    const text = JSON.stringify(byName.get(name));
    assert.match(text, /"envoy\.extensions\.filters\.listener\.original_dst\.v3\.OriginalDst"|original_dst\.v3\.OriginalDst/);
    assert.match(text, /tcp_proxy\.v3\.TcpProxy/);
  }
  const clusters = new Map(resources.clusters.map((c) => [c.name, c]));
  assert.equal(clusters.get('outbound_passthrough')?.type, 'ORIGINAL_DST');
  assert.equal(clusters.get('inbound_passthrough')?.lb_policy, 'CLUSTER_PROVIDED');
  assert.deepEqual(clusters.get('inbound_passthrough')?.upstream_bind_config, {
    source_address: { address: '127.0.0.6', port_value: 0 },
    extra_source_addresses: [{ address: { address: '::6', port_value: 0 } }],
  });
  for (const name of ['outbound', 'inbound', 'readiness', 'metrics']) {
    const listener = byName.get(name);
    assert.deepEqual(listener?.additional_addresses, [{ address: { socket_address: { address: '::', port_value: port(listener) } } }], name);
  }
  assert.match(JSON.stringify(byName.get('readiness')), /"prefix":"\/healthz\/ready"},"direct_response":\{"status":200/);
  assert.match(JSON.stringify(byName.get('metrics')), /"path":"\/stats\/prometheus"},"route":\{"cluster":"admin"\}/);
  const security = proxy.securityContext as JsonObject;
  assert.equal(security.runAsUser, 1337);
  assert.equal(security.runAsGroup, 1337);
});

test('the init container has exactly the capabilities capture needs', () => {
  const init = container(injectWith('envoy'), 'pillion-init');
  assert.deepEqual(init.securityContext, {
    capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    privileged: false,
    runAsUser: 0,
    runAsNonRoot: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
  });
  assert.equal((init.args as string[])[0], 'apply');
});

test('the hold-application postStart command waits for a real readiness endpoint', async (t) => {
  if (spawnSync('bash', ['--version']).status !== 0) return t.skip('bash is not installed');
  let ready = false;
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/healthz/ready' && ready ? 200 : 503;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const command = [...bundledTemplates().holdCommand];
  assert.equal(command.at(-1), '15021');
  command[command.length - 1] = String(port);
  const started = Date.now();
  const child = spawn(command[0] ?? '', command.slice(1), { stdio: 'ignore' });
  // Not ready yet: the command must still be waiting after a couple of polls.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(child.exitCode, null, 'the hold command returned before the proxy was ready');
  ready = true;
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
  assert.ok(Date.now() - started >= 1500);
});

function withTemplateDir(t: { after: (fn: () => void) => void }, edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-templates-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(bundledTemplatesDir, dir, { recursive: true });
  edit(dir);
  return dir;
}

test('template errors name the file and the problem', (t) => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['unknown reference', (d) => writeFileSync(join(d, 'x.yaml'), 'pod:\n  spec:\n    containers:\n      - name: c\n        image: "${values.nope}"\n'), /x\.yaml: pod\.spec\.containers\[0\]\.image: \$\{values\.nope\} does not exist/],
    ['bad yaml', (d) => writeFileSync(join(d, 'x.yaml'), 'pod: [\n'), /x\.yaml: not valid YAML/],
    ['unknown key', (d) => writeFileSync(join(d, 'x.yaml'), 'pod: {spec: {}}\nextra: 1\n'), /x\.yaml: unknown top-level key "extra"/],
    ['unnamed container', (d) => writeFileSync(join(d, 'x.yaml'), 'pod: {spec: {containers: [{image: a}]}}\n'), /x\.yaml: pod\.spec\.containers\[0\] needs a literal "name"/],
    ['bad values', (d) => writeFileSync(join(d, 'values.yaml'), readFileSync(join(d, 'values.yaml'), 'utf8').replace('inboundPorts: "*"', 'inboundPorts: "80,x"')), /values\.yaml: key "capture\.inboundPorts": "x" is not a port number/],
    ['missing values', (d) => rmSync(join(d, 'values.yaml')), /values\.yaml: missing/],
    ['bad name', (d) => writeFileSync(join(d, 'Bad_Name.yaml'), 'pod: {spec: {}}\n'), /Bad_Name\.yaml: template names must be DNS labels/],
  ];
  for (const [label, edit, message] of cases) {
    const dir = withTemplateDir(t, edit);
    assert.throws(() => loadTemplates(dir), (e: unknown) => e instanceof SetupError && message.test(e.message), label);
  }
});

test('the template version follows the content', (t) => {
  const same = loadTemplates(withTemplateDir(t, () => undefined));
  assert.equal(same.version, bundledTemplates().version);
  const changed = loadTemplates(withTemplateDir(t, (d) => writeFileSync(join(d, 'values.yaml'), `${readFileSync(join(d, 'values.yaml'), 'utf8')}# edit\n`)));
  assert.notEqual(changed.version, same.version);
});
