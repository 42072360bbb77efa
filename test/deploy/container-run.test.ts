// Runs the Deployment's container for real, as far as this machine allows without a cluster: the
// image's entrypoint (node dist/injector/bin/pillion.js) with exactly the args of deploy/base,
// the ConfigMap's files and a Secret-like certificate placed where the volume mounts would put
// them. Proves the manifests' flags, paths and ConfigMap content work with the real binary: the
// probes answer over HTTPS with a certificate for the Service name the API server dials, a review
// is injected with the template values from the ConfigMap, and SIGTERM exits 0.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { pillionBin } from '../support/paths.js';
import { skipOrFail } from '../support/privileges.js';
import { findObject, findOnPath, parseManifests, renderKustomize, requireKubectl } from './support/manifests.js';
import { freePort } from '../support/ports.js';

const serviceName = 'pillion-injector.pillion-system.svc';

interface Container { args: string[]; volumeMounts: { name: string; mountPath: string }[] }

function requireOpenssl(t: TestContext): boolean {
  if (findOnPath('openssl') !== undefined) return true;
  skipOrFail(t, 'needs openssl on PATH (run: npm run setup)');
  return false;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
}

/** A CA and a serving certificate for the Service DNS name, as cert-manager would issue. */
function makeCertificates(dir: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  openssl(['req', ...ec, '-subj', `/CN=${serviceName}`, '-keyout', 'tls.key', '-out', 'tls.csr'], dir);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:${serviceName}\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'ext.cnf', '-out', 'tls.crt'], dir);
  return { ca: readFileSync(join(dir, 'ca.crt')), cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) };
}


interface Reply { status: number; body: string }

/** HTTPS to loopback, verifying the certificate for the Service name (as the API server does). */
function call(port: number, ca: Buffer, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, ca, servername: serviceName, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function waitReady(child: ChildProcess, port: number, ca: Buffer, log: () => string): Promise<void> {
  // Bounded by attempts, not by a timing assertion: start-up speed is not what is tested.
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) assert.fail(`the webhook exited ${child.exitCode} during start-up:\n${log()}`);
    try {
      if ((await call(port, ca, 'GET', '/readyz')).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the webhook never became ready:\n${log()}`);
}

test('the base Deployment args, mounts and ConfigMap run the real webhook binary', async (t) => {
  const kubectl = requireKubectl(t);
  if (kubectl === undefined || !requireOpenssl(t)) return;
  assert.ok(existsSync(pillionBin), `${pillionBin} is built (npx tsc -p .)`);

  const objects = parseManifests(renderKustomize(kubectl, 'base'), 'deploy/base');
  const deployment = findObject(objects, 'Deployment', 'pillion-injector') as unknown as { spec: { template: { spec: { containers: Container[] } } } };
  const container = deployment.spec.template.spec.containers[0] as Container;
  const configMap = findObject(objects, 'ConfigMap', 'pillion-injector-config') as unknown as { data: Record<string, string> };

  const work = mkdtempSync(join(tmpdir(), `pillion-deploy-${process.pid}-`));
  t.after(() => rmSync(work, { recursive: true, force: true }));

  // Each volume mount becomes a local folder holding what the kubelet would project there.
  mkdirSync(join(work, 'pki'));
  const { ca, cert, key } = makeCertificates(join(work, 'pki'));
  const mountDirs = new Map(container.volumeMounts.map((m) => [m.mountPath, join(work, 'mounts', m.name)]));
  for (const dir of mountDirs.values()) mkdirSync(dir, { recursive: true });
  const dirOf = (mountPath: string): string => mountDirs.get(mountPath) ?? assert.fail(`no volume mount at ${mountPath}`);
  writeFileSync(join(dirOf('/etc/pillion/tls'), 'tls.crt'), cert);
  writeFileSync(join(dirOf('/etc/pillion/tls'), 'tls.key'), key, { mode: 0o600 });
  // The ConfigMap as deployed, with one template value changed so the test can tell the
  // ConfigMap's values were applied rather than the bundled ones.
  const values = parseYaml(configMap.data['values.yaml'] as string) as { proxy: { image: string } };
  values.proxy.image = 'registry.example/pillion-test/envoy:from-configmap';
  writeFileSync(join(dirOf('/etc/pillion/config'), 'config.yaml'), configMap.data['config.yaml'] as string);
  writeFileSync(join(dirOf('/etc/pillion/config'), 'values.yaml'), stringifyYaml(values));

  const port = await freePort();
  const args = container.args.map((arg) => {
    if (arg.startsWith('--port=')) return `--port=${port}`;
    for (const [mountPath, dir] of mountDirs) {
      const [flag, value] = arg.split('=', 2);
      if (value?.startsWith(`${mountPath}/`)) return `${flag}=${dir}${value.slice(mountPath.length)}`;
    }
    return arg;
  });
  args.push('--host=127.0.0.1');
  let stderr = '';
  // TMPDIR stands in for the /tmp emptyDir: the root filesystem is read-only in the pod.
  const child = spawn(process.execPath, [pillionBin, ...args], { env: { ...process.env, TMPDIR: dirOf('/tmp') }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  await waitReady(child, port, ca, () => stderr);
  assert.equal((await call(port, ca, 'GET', '/healthz')).status, 200, 'liveness probe path answers');

  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', annotations: { 'pillion.dev/inject': 'enabled' } },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] }] },
  };
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'b6e6a1d4-0000-4000-8000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      object: pod,
    },
  };
  const reply = await call(port, ca, 'POST', '/inject', JSON.stringify(review));
  assert.equal(reply.status, 200, reply.body);
  const response = (JSON.parse(reply.body) as { response: { uid: string; allowed: boolean; patch?: string } }).response;
  assert.equal(response.uid, review.request.uid);
  assert.equal(response.allowed, true);
  assert.ok(response.patch !== undefined, 'an annotated pod is patched');
  const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Operation[];
  const injected = fastJsonPatch.applyPatch(structuredClone(pod), patch, true, false).newDocument as unknown as {
    spec: { containers: { name: string; image: string }[]; initContainers?: { name: string; image: string }[] };
  };
  const all = [...injected.spec.containers, ...(injected.spec.initContainers ?? [])];
  assert.equal(all.find((c) => c.name === 'pillion-proxy')?.image, values.proxy.image, 'the proxy image comes from the ConfigMap values');
  const initImage = (parseYaml(configMap.data['values.yaml'] as string) as { init: { image: string } }).init.image;
  assert.equal(all.find((c) => c.name === 'pillion-init')?.image, initImage, 'the capture init container is added');

  child.kill('SIGTERM');
  assert.equal(await exited, 0, `SIGTERM exits 0 (the pod's termination):\n${stderr}`);
});
