// The CNI mode's capture check in the proxy's hold hook, against the real kernel: the postStart
// command an injected pod carries (bundled hold.command plus the injector's arguments), run as
// the proxy's uid with no capability in namespaces this test creates, beside a stand-in proxy
// (a listener on the inbound port and a /healthz/ready). With the rules pillion-init installs in
// place it exits 0; with none, or one family's flushed, it exits 1, leaves a message naming the
// family in the termination-message file (what the node agent's repair reads) and sends SIGTERM
// to its PID namespace's first process (the proxy's, in a container), which here is a stand-in.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureMissingMessage } from '../../../cni/install/repair.js';
import { defaultInjectorConfig } from '../../../injector/core/config.js';
import { injectPod } from '../../../injector/core/inject.js';
import type { JsonObject } from '../../../injector/core/types.js';
import { requirePrivileges } from '../../support/privileges.js';
import { pillionInitBin } from '../../support/paths.js';
import { makePodNamespace, must, sh } from '../../init/netns-support.js';
import { bundledTemplates } from './fixture-support.js';

const needs = ['setpriv', 'unshare', 'bash', 'iptables-nft-restore', 'ip6tables-nft-restore', 'iptables-nft', 'ip6tables-nft'];

/** The injected proxy's postStart argv and the capture flags the plugin would install, for envoy in CNI mode. */
function injectedHook(): { command: string[]; flags: string[] } {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop', annotations: { 'pillion.dev/inject': 'enabled' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
  const result = injectPod(pod, { mode: 'candidate', namespace: 'shop', namespaceLabels: undefined },
    { config: { ...defaultInjectorConfig, captureMode: 'cni', nativeSidecar: 'on' }, templates: bundledTemplates() });
  assert.equal(result.kind, 'injected');
  if (result.kind !== 'injected') throw new Error('not injected');
  const spec = result.pod.spec as { initContainers: JsonObject[] };
  assert.deepEqual(spec.initContainers.map((c) => c.name), ['pillion-proxy'], 'no validation container: the hook checks');
  const proxy = spec.initContainers[0] as { lifecycle: { postStart: { exec: { command: string[] } } } };
  const status = JSON.parse((result.pod.metadata as { annotations: Record<string, string> }).annotations['pillion.dev/status'] ?? '{}') as { capture: { args: string[] } };
  return { command: proxy.lifecycle.postStart.exec.command, flags: status.capture.args };
}

/** A stand-in proxy inside `ns`: the inbound port on both families, readiness on 15021. */
async function standInProxy(t: TestContext, ns: string): Promise<void> {
  const script = `
    const net = require('node:net'), http = require('node:http');
    net.createServer((s) => s.destroy()).listen({ port: 15006, host: '0.0.0.0' });
    net.createServer((s) => s.destroy()).listen({ port: 15006, host: '::', ipv6Only: true });
    http.createServer((q, r) => { r.statusCode = q.url === '/healthz/ready' ? 200 : 404; r.end(); })
      .listen(15021, '127.0.0.1', () => console.log('up'));`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`stand-in proxy exited ${code}`)));
  });
}

interface HookRun { status: number | null; stderr: string; message: string; pid1: string }

// PID 1 of the hook's PID namespace, standing in for the proxy's process: it runs the hook as its
// child and records a SIGTERM (a PID namespace's first process gets only signals it handles; bash
// runs the trap once the hook has exited, and keeps the hook's status).
const standInPid1 = 'trap \'echo term >"$PILLION_TEST_PID1"\' TERM; "$@"; s=$?; exit "$s"';

/**
 * The hook as the kubelet runs it in the proxy container: uid/gid 1337, no capability, the pod's
 * addresses in the env, in a PID namespace of its own whose first process is the stand-in.
 */
async function runHook(t: TestContext, ns: string, podIps: string): Promise<HookRun> {
  const { command } = injectedHook();
  const dir = mkdtempSync(join(tmpdir(), 'pillion-hold-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const messageFile = join(dir, 'termination-log');
  const pid1File = join(dir, 'pid1');
  for (const file of [messageFile, pid1File]) {
    writeFileSync(file, '');
    chmodSync(file, 0o666); // as the kubelet leaves the termination-message file
  }
  chmodSync(dir, 0o755);
  assert.equal(command.at(-1), '/dev/termination-log');
  const argv = [...command.slice(0, -1), messageFile];
  const child = spawn('ip', ['netns', 'exec', ns, 'unshare', '--pid', '--fork', 'setpriv', '--reuid=1337', '--regid=1337', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs',
    'bash', '-c', standInPid1, 'pid1', ...argv],
  { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PILLION_POD_IPS: podIps, PILLION_TEST_PID1: pid1File }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { status, stderr, message: readFileSync(messageFile, 'utf8'), pid1: readFileSync(pid1File, 'utf8').trim() };
}

function setUp(t: TestContext, name: string, octet: number): { ns: string; ips: string } {
  const ns = `phold-${process.pid}-${name}`;
  makePodNamespace(t, ns, { ipv4: `10.197.${octet}.5`, ipv6: `fd97:${octet}::5` });
  return { ns, ips: `10.197.${octet}.5,fd97:${octet}::5` };
}

test('the injected hold hook passes once the rules are in place (both families)', async (t) => {
  if (!requirePrivileges(t, needs)) return;
  const { ns, ips } = setUp(t, 'ok', 1);
  const apply = sh(['ip', 'netns', 'exec', ns, process.execPath, pillionInitBin, 'apply', '--backend=nft', ...injectedHook().flags]);
  assert.equal(apply.status, 0, apply.stderr);
  await standInProxy(t, ns);
  const run = await runHook(t, ns, ips);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.message, '', 'no termination message');
  assert.equal(run.pid1, '', 'the proxy is left running');
});

test('with no rules the hook fails and its message names IPv4 (the first address)', async (t) => {
  if (!requirePrivileges(t, needs)) return;
  const { ns, ips } = setUp(t, 'none', 2);
  await standInProxy(t, ns);
  const run = await runHook(t, ns, ips);
  assert.equal(run.status, 1, run.stderr);
  assert.ok(run.message.startsWith(`${captureMissingMessage}: IPv4: `), run.message);
  assert.match(run.message, /address 10\.197\.2\.5 port 18080 was not redirected/);
  assert.equal(run.stderr.trim(), run.message.trim(), 'the same line on stderr (the kubelet logs it; its FailedPostStartHook event says only "PostStartHook failed")');
  assert.equal(run.pid1, 'term', "the proxy's process is stopped, so the container ends even without a kubelet to kill it");
});

test('with only the IPv6 rules flushed the hook fails naming IPv6', async (t) => {
  if (!requirePrivileges(t, needs)) return;
  const { ns, ips } = setUp(t, 'six', 3);
  const apply = sh(['ip', 'netns', 'exec', ns, process.execPath, pillionInitBin, 'apply', '--backend=nft', ...injectedHook().flags]);
  assert.equal(apply.status, 0, apply.stderr);
  must(['ip', 'netns', 'exec', ns, 'ip6tables-nft', '-w', '5', '-t', 'nat', '-F', 'OUTPUT']);
  await standInProxy(t, ns);
  const run = await runHook(t, ns, ips);
  assert.equal(run.status, 1, run.stderr);
  assert.ok(run.message.startsWith(`${captureMissingMessage}: IPv6: `), run.message);
  assert.match(run.message, /address fd97:3::5 port 18080/);
});

test('a pod without addresses in PILLION_POD_IPS fails instead of passing unchecked', async (t) => {
  if (!requirePrivileges(t, needs)) return;
  const { ns } = setUp(t, 'noip', 4);
  await standInProxy(t, ns);
  const run = await runHook(t, ns, '');
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /PILLION_POD_IPS is empty/);
  assert.equal(run.pid1, 'term');
});
