// The plugin's entry (runPlugin) on what never reaches a pod's namespace: STATUS and GC (CNI
// 1.1.0), and a CNI_NETNS that names the node's own namespace or no namespace at all. Every call
// runs with PATH holding only a stand-in `nsenter` that records its arguments and fails, so a call
// that got as far as programming a namespace shows in the record and touches nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { runPlugin } from '../../cni/plugin/main.js';
import { statusAnnotation } from '../../cni/pod/contract.js';
import { podAnnotationsCapability } from '../../cni/protocol/request.js';
import { skipOrFail } from '../support/privileges.js';

const work = mkdtempSync(join(tmpdir(), 'pillion-cni-entry-'));
after(() => rmSync(work, { recursive: true, force: true }));
const record = join(work, 'nsenter.calls');
writeFileSync(join(work, 'nsenter'), `#!/bin/sh\necho "$*" >> '${record}'\nexit 1\n`);
chmodSync(join(work, 'nsenter'), 0o755);
const notANamespace = join(work, 'regular-file');
writeFileSync(notANamespace, '');

const canonical = ['apply', '--proxy-uid=1337', '--proxy-gid=1337', '--outbound-port=15001', '--inbound-port=15006', '--inbound-ports=*', '--outbound-cidrs=*'];
/** A CNI-mode pod, as the runtime passes its annotations: ADD would program its namespace. */
const meshedConfig = (cniVersion: string): Record<string, unknown> => ({
  cniVersion,
  name: 'k8s-pod-network',
  type: 'pillion-cni',
  prevResult: { cniVersion, ips: [{ address: '10.0.0.5/24' }] },
  runtimeConfig: {
    [podAnnotationsCapability]: {
      [statusAnnotation]: JSON.stringify({ version: 'v1', templates: ['sidecar'], containers: ['proxy'], initContainers: [], volumes: [], annotations: [], labels: [], capture: { mode: 'cni', args: canonical } }),
    },
  },
});

interface Outcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly logs: string;
  readonly nsenterCalls: string;
}

/**
 * A network namespace of this test's own, held by a child (`unshare --net sleep`): gone with it,
 * nothing mounted, and never entered for real (nsenter is the stand-in). Root only.
 */
async function ownNamespaceHolder(t: TestContext): Promise<{ netns: string; stop: () => void } | undefined> {
  if (process.getuid?.() !== 0) {
    skipOrFail(t, 'needs root to make a network namespace of its own (unshare --net)');
    return undefined;
  }
  const holder = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
  const netns = `/proc/${holder.pid}/ns/net`;
  const own = statSync('/proc/self/ns/net').ino;
  const inode = (): number | undefined => {
    try {
      return statSync(netns).ino;
    } catch {
      return undefined;
    }
  };
  for (let i = 0; i < 250 && (inode() === undefined || inode() === own); i++) await delay(20);
  if (inode() === undefined || inode() === own) {
    holder.kill('SIGKILL');
    assert.fail('unshare --net made no namespace');
  }
  return { netns, stop: () => holder.kill('SIGKILL') };
}

async function call(command: string, config: Record<string, unknown>, netns = '/run/netns/absent'): Promise<Outcome> {
  rmSync(record, { force: true });
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: 'c0ffee', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', CNI_ARGS: 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web' };
  const savedPath = process.env.PATH;
  process.env.PATH = work;
  let stdout = '';
  let logs = '';
  try {
    const exitCode = await runPlugin(env, { readStdin: () => JSON.stringify(config), stdout: (t) => (stdout += t), stderr: (t) => (logs += t) });
    let nsenterCalls = '';
    try {
      nsenterCalls = readFileSync(record, 'utf8');
    } catch {
      // never called
    }
    return { exitCode, stdout, logs, nsenterCalls };
  } finally {
    process.env.PATH = savedPath;
  }
}

test('STATUS at 1.1.0: ready, nothing on stdout; GC: nothing to collect, nothing on stdout; both refused under 1.0.0', async () => {
  for (const command of ['STATUS', 'GC']) {
    const ok = await call(command, meshedConfig('1.1.0'));
    assert.deepEqual({ exitCode: ok.exitCode, stdout: ok.stdout, nsenterCalls: ok.nsenterCalls }, { exitCode: 0, stdout: '', nsenterCalls: '' }, `${command}: ${ok.logs}`);
    const old = await call(command, meshedConfig('1.0.0'));
    assert.equal(old.exitCode, 1);
    assert.deepEqual(JSON.parse(old.stdout), { cniVersion: '1.0.0', code: 1, msg: `config version 1.0.0 does not allow ${command}`, details: 'STATUS and GC exist from CNI 1.1.0' });
  }
  const broken = await call('STATUS', { cniVersion: '1.1.0', type: 'pillion-cni' });
  assert.equal((JSON.parse(broken.stdout) as { code: number }).code, 7, 'a configuration without a name is not ready to serve ADD');
});

test('ADD at 1.1.0: a pod that is not captured gets prevResult back unchanged', async (t) => {
  const plain = { ...meshedConfig('1.1.0'), runtimeConfig: { [podAnnotationsCapability]: {} } };
  const holder = await ownNamespaceHolder(t);
  if (holder === undefined) return;
  try {
    const outcome = await call('ADD', plain, holder.netns);
    assert.equal(outcome.exitCode, 0, outcome.stdout);
    assert.deepEqual(JSON.parse(outcome.stdout), meshedConfig('1.1.0').prevResult);
    assert.equal(outcome.nsenterCalls, '');
  } finally {
    holder.stop();
  }
});

test('CNI_NETNS naming the node\'s own namespace, PID 1\'s or a plain file: ADD and CHECK refuse (code 4), DEL leaves it alone; nothing is entered', async () => {
  const cases: [string, RegExp][] = [
    ['/proc/self/ns/net', /is the plugin's own network namespace \(the node's\), not a pod's/],
    [`/proc/${process.pid}/ns/net`, /is the plugin's own network namespace/],
    [notANamespace, /is not a network namespace/],
  ];
  // PID 1's: the same as the plugin's here unless this runs in a namespace of its own; both are
  // refused. (Some sandboxes do not let even root examine PID 1's namespaces: then not tried.)
  try {
    statSync('/proc/1/ns/net');
    cases.push(['/proc/1/ns/net', /network namespace \((the node's|the host's)\), not a pod's/]);
  } catch {
    // not examinable here
  }
  for (const [netns, message] of cases) {
    for (const command of ['ADD', 'CHECK']) {
      const outcome = await call(command, meshedConfig('1.1.0'), netns);
      assert.equal(outcome.exitCode, 1, `${command} ${netns}`);
      const error = JSON.parse(outcome.stdout) as { code: number; msg: string };
      assert.equal(error.code, 4, `${command} ${netns}: ${outcome.stdout}`);
      assert.match(error.msg, message);
      assert.match(error.msg, /^CNI_NETNS /);
      assert.equal(outcome.nsenterCalls, '', `${command} ${netns}: entered the namespace`);
    }
    const del = await call('DEL', meshedConfig('1.1.0'), netns);
    assert.deepEqual({ exitCode: del.exitCode, stdout: del.stdout, nsenterCalls: del.nsenterCalls }, { exitCode: 0, stdout: '', nsenterCalls: '' }, `DEL ${netns}: ${del.logs}`);
    assert.match(del.logs, /nothing removed there/);
  }
});

test('a namespace that is not the node\'s passes the check and reaches the stand-in nsenter (so the checks above can fail)', async (t) => {
  const holder = await ownNamespaceHolder(t);
  if (holder === undefined) return;
  try {
    const outcome = await call('ADD', meshedConfig('1.1.0'), holder.netns);
    assert.equal((JSON.parse(outcome.stdout) as { code: number }).code, 102, outcome.stdout);
    assert.ok(outcome.nsenterCalls.includes(`--net=${holder.netns}`), outcome.nsenterCalls);
  } finally {
    holder.stop();
  }
});
