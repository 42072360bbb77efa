// The node agent on temporary host directories: no node, no cluster. Covers the shapes the
// primaries write, conversion of a .conf, several/invalid/empty files, repair after a rewrite
// (timed: back within a second), token rotation, a VERSION that fails, and install-then-
// uninstall leaving every byte and mode as it was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readKubeconfig } from '../../../cni/pod/kubeconfig.js';
import { uninstall } from '../../../cni/install/uninstall.js';
import type { Agent } from '../../../cni/install/agent.js';
import { sha256 } from '../../../cni/install/files.js';
import { loadState, ownDirName } from '../../../cni/install/state.js';
import { repoPath } from '../../support/paths.js';
import {
  bridgeConf,
  calicoConflist,
  ciliumConflist,
  flannelConflist,
  makeHost,
  paths,
  pluginTypes,
  readJson,
  snapshot,
  waitFor,
  versionScriptFor,
  type TestHost,
} from './support.js';

async function withHost(body: (host: TestHost) => Promise<void>, source?: string): Promise<void> {
  const host = makeHost(source);
  try {
    await body(host);
  } finally {
    host.cleanup();
  }
}

const primaries = [
  { name: 'Calico', file: '10-calico.conflist', text: calicoConflist, network: 'k8s-pod-network', types: ['calico', 'portmap', 'bandwidth'], mode: 0o644 },
  { name: 'Flannel', file: '10-flannel.conflist', text: flannelConflist, network: 'cbr0', types: ['flannel', 'portmap'], mode: 0o644 },
  { name: 'Cilium', file: '05-cilium.conflist', text: ciliumConflist, network: 'cilium', types: ['cilium-cni'], mode: 0o600 },
];

for (const primary of primaries) {
  test(`${primary.name}'s conflist: Pillion goes last, name and mode kept; uninstall leaves every byte and mode`, () =>
    withHost(async (host) => {
      const path = join(host.netDir, primary.file);
      writeFileSync(path, primary.text);
      chmodSync(path, primary.mode);
      const before = { net: snapshot(host.netDir), bin: snapshot(host.binDir) };
      const agent = host.agent();
      await agent.start();
      assert.equal(agent.status.ready, true, agent.status.reason);
      const doc = readJson(path);
      assert.equal(doc.name, primary.network);
      assert.deepEqual(pluginTypes(path), [...primary.types, 'pillion-cni']);
      // Everything that was there is unchanged.
      const original = JSON.parse(primary.text) as { plugins: unknown[] };
      assert.deepEqual((doc.plugins as unknown[]).slice(0, -1), original.plugins);
      assert.equal(statSync(path).mode & 0o7777, primary.mode);
      assert.equal(statSync(join(host.binDir, 'pillion-cni')).mode & 0o7777, 0o755);
      await agent.stop();
      uninstall({ hostRoot: host.root, paths, log: () => undefined });
      assert.deepEqual(snapshot(host.netDir), before.net);
      assert.deepEqual(snapshot(host.binDir), before.bin);
    }));
}

test('a single .conf becomes a .conflist of the same network (as libcni reads it); uninstall restores the .conf byte for byte', () =>
  withHost(async (host) => {
    const conf = join(host.netDir, '10-bridge.conf');
    writeFileSync(conf, bridgeConf);
    chmodSync(conf, 0o640);
    const before = snapshot(host.netDir);
    const agent = host.agent();
    await agent.start();
    assert.equal(agent.status.ready, true, agent.status.reason);
    assert.equal(existsSync(conf), false);
    const list = join(host.netDir, '10-bridge.conflist');
    const doc = readJson(list);
    assert.equal(doc.name, 'mynet', 'the network keeps its name: host-local keeps its leases under it');
    assert.equal(doc.cniVersion, '0.4.0');
    assert.deepEqual((doc.plugins as unknown[])[0], JSON.parse(bridgeConf));
    assert.deepEqual(pluginTypes(list), ['bridge', 'pillion-cni']);
    assert.equal(statSync(list).mode & 0o7777, 0o640);
    await agent.stop();
    uninstall({ hostRoot: host.root, paths, log: () => undefined });
    assert.deepEqual(snapshot(host.netDir), before);
  }));

test('several files: only the lexically first is changed; a new first file moves the entry there', () =>
  withHost(async (host) => {
    writeFileSync(join(host.netDir, '10-calico.conflist'), calicoConflist);
    writeFileSync(join(host.netDir, '99-loopback.conf'), '{"cniVersion":"0.3.1","name":"lo","type":"loopback"}');
    writeFileSync(join(host.netDir, 'calico-kubeconfig'), 'not a network configuration');
    const before = snapshot(host.netDir);
    const agent = host.agent();
    await agent.start();
    assert.deepEqual(pluginTypes(join(host.netDir, '10-calico.conflist')).at(-1), 'pillion-cni');
    assert.equal(readFileSync(join(host.netDir, '99-loopback.conf'), 'utf8'), '{"cniVersion":"0.3.1","name":"lo","type":"loopback"}');
    // Cilium arrives and writes 05-cilium.conflist: the runtime now picks that one.
    writeFileSync(join(host.netDir, '05-cilium.conflist'), ciliumConflist);
    await waitFor('the entry in 05-cilium.conflist', () => pluginTypes(join(host.netDir, '05-cilium.conflist')).at(-1) === 'pillion-cni');
    await waitFor('10-calico.conflist restored', () => readFileSync(join(host.netDir, '10-calico.conflist'), 'utf8') === calicoConflist);
    await agent.stop();
    uninstall({ hostRoot: host.root, paths, log: () => undefined });
    const after = snapshot(host.netDir);
    after.delete('05-cilium.conflist');
    assert.deepEqual(after, before);
    assert.equal(readFileSync(join(host.netDir, '05-cilium.conflist'), 'utf8'), ciliumConflist);
  }));

test('no configuration: waits, not ready, writes none of its own; inserts once the primary writes one', () =>
  withHost(async (host) => {
    const agent = host.agent();
    await agent.start();
    assert.equal(agent.status.ready, false);
    assert.match(agent.status.reason, /waiting for the primary CNI's configuration/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual([...snapshot(host.netDir).keys()].filter((k) => !k.startsWith('pillion-cni/')), []);
    writeFileSync(join(host.netDir, '10-flannel.conflist'), flannelConflist);
    await waitFor('ready', () => agent.status.ready);
    assert.deepEqual(pluginTypes(join(host.netDir, '10-flannel.conflist')), ['flannel', 'portmap', 'pillion-cni']);
  }));

for (const [what, bytes] of [
  ['an empty file', ''],
  ['an invalid file', '{"name": "cbr0", "plugins": [ {"type": "flannel"'],
] as const) {
  test(`${what} first: not ready, saying why, the file untouched; inserted once it is fixed`, () =>
    withHost(async (host) => {
      const path = join(host.netDir, '10-flannel.conflist');
      writeFileSync(path, bytes);
      writeFileSync(join(host.netDir, '20-other.conflist'), calicoConflist);
      const agent = host.agent();
      await agent.start();
      assert.equal(agent.status.ready, false);
      assert.match(agent.status.reason, /10-flannel\.conflist (is empty|is not valid JSON)/);
      assert.equal(readFileSync(path, 'utf8'), bytes);
      assert.equal(readFileSync(join(host.netDir, '20-other.conflist'), 'utf8'), calicoConflist, 'the runtime reads the first file only; the next one is not used instead');
      writeFileSync(path, flannelConflist);
      await waitFor('ready', () => agent.status.ready);
      assert.equal(pluginTypes(path).at(-1), 'pillion-cni');
    }));
}

test('the primary rewriting the file: the entry is back within a second each time; warned and counted after repeated rewrites', () =>
  withHost(async (host) => {
    const path = join(host.netDir, '05-cilium.conflist');
    writeFileSync(path, ciliumConflist);
    const agent = host.agent({ httpPort: 0 });
    await agent.start();
    assert.equal(agent.status.ready, true);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      // Like the primary: a plain (non-atomic) rewrite of its own bytes.
      writeFileSync(path, ciliumConflist);
      const start = performance.now();
      await waitFor('the entry back', () => {
        try {
          return pluginTypes(path).at(-1) === 'pillion-cni';
        } catch {
          return false;
        }
      }, 5000);
      times.push(performance.now() - start);
    }
    console.error(`# entry back after ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
    for (const ms of times) assert.ok(ms < 1000, `entry back after ${ms} ms`);
    await waitFor('ready', () => agent.status.ready);
    assert.ok(host.logs.some((l) => /warning: the primary CNI \(cilium-cni\) has rewritten its configuration 3 times/.test(l) && l.includes('cni.exclusive=false')));
    const metrics = await (await fetch(`http://127.0.0.1:${agent.httpPort}/metrics`)).text();
    assert.match(metrics, /pillion_cni_install_primary_rewrites_total\{primary="cilium-cni"\} 3/);
    assert.match(metrics, /pillion_cni_install_ready 1/);
    const readyz = await fetch(`http://127.0.0.1:${agent.httpPort}/readyz`);
    assert.equal(readyz.status, 200);
  }));

test('the entry comes back also when fs.watch gives nothing (the poll), and when the file is replaced by rename', () =>
  withHost(async (host) => {
    const path = join(host.netDir, '10-calico.conflist');
    writeFileSync(path, calicoConflist);
    const agent = host.agent({ pollMs: 500, watch: false });
    await agent.start();
    writeFileSync(join(host.netDir, '.tmp-calico'), calicoConflist);
    renameSync(join(host.netDir, '.tmp-calico'), path);
    const ms = await waitFor('the entry back', () => pluginTypes(path).at(-1) === 'pillion-cni');
    assert.ok(ms < 1000, `${ms} ms`);
  }));

test('token rotation rewrites the kubeconfig (mode 0600, JSON, read by the plugin)', () =>
  withHost(async (host) => {
    writeFileSync(join(host.netDir, '10-flannel.conflist'), flannelConflist);
    const agent = host.agent();
    await agent.start();
    const entry = (readJson(join(host.netDir, '10-flannel.conflist')).plugins as Record<string, unknown>[]).at(-1)!;
    assert.equal(entry.kubeconfig, '/etc/cni/net.d/pillion-cni/kubeconfig', 'a host path');
    const kubeconfig = join(host.root, entry.kubeconfig);
    assert.equal(statSync(kubeconfig).mode & 0o7777, 0o600);
    assert.equal(readKubeconfig(kubeconfig).token, 'token-1');
    assert.equal(readKubeconfig(kubeconfig).server.href, 'https://10.96.0.1/');
    // The kubelet swaps the projected volume's files.
    writeFileSync(join(host.saDir, '.token-new'), 'token-2\n');
    renameSync(join(host.saDir, '.token-new'), join(host.saDir, 'token'));
    const ms = await waitFor('the new token', () => readKubeconfig(kubeconfig).token === 'token-2');
    assert.ok(ms < 1000, `${ms} ms`);
    assert.equal(statSync(kubeconfig).mode & 0o7777, 0o600);
  }));

test('VERSION fails on this host: not ready, saying why, and no entry inserted', () =>
  withHost(async (host) => {
    const path = join(host.netDir, '10-calico.conflist');
    writeFileSync(path, calicoConflist);
    const agent = host.agent({ httpPort: 0 });
    await agent.start();
    assert.equal(agent.status.ready, false);
    assert.match(agent.status.reason, /cannot run on this host: .*pillion-cni VERSION failed \(126\): .*/);
    assert.equal(readFileSync(path, 'utf8'), calicoConflist);
    const readyz = await fetch(`http://127.0.0.1:${agent.httpPort}/readyz`);
    assert.equal(readyz.status, 503);
    assert.match(await readyz.text(), /cannot run on this host/);
  }, '#!/bin/sh\necho "pillion-cni: /lib64/ld-linux-x86-64.so.2: No such file or directory" >&2\nexit 126\n'));

test('the readiness file exists only while ready', () =>
  withHost(async (host) => {
    const readyFile = join(host.root, 'ready');
    const path = join(host.netDir, '10-calico.conflist');
    writeFileSync(path, '');
    const agent = host.agent({ readyFile });
    await agent.start();
    assert.equal(existsSync(readyFile), false);
    writeFileSync(path, calicoConflist);
    await waitFor('the readiness file', () => existsSync(readyFile));
    assert.equal((readJson(readyFile) as { file: string }).file, '10-calico.conflist');
  }));

test('pillion-cni-install --uninstall --host-root cleans a node whose agent is gone, byte for byte', () =>
  withHost(async (host) => {
    writeFileSync(join(host.netDir, '10-bridge.conf'), bridgeConf);
    writeFileSync(join(host.netDir, '20-calico.conflist'), calicoConflist);
    const before = { net: snapshot(host.netDir), bin: snapshot(host.binDir) };
    const agent = host.agent();
    await agent.start();
    assert.equal(agent.status.ready, true);
    await agent.stop(); // the agent is gone; its files stay (an upgrade leaves them in place)
    assert.equal(existsSync(join(host.binDir, 'pillion-cni')), true);
    const run = spawnSync(process.execPath, [repoPath('dist', 'cni', 'install', 'main.js'), '--uninstall', '--host-root', host.root], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '', 'stdout carries no logs');
    assert.match(run.stderr, /restored 10-bridge\.conf byte for byte/);
    assert.deepEqual(snapshot(host.netDir), before.net);
    assert.deepEqual(snapshot(host.binDir), before.bin);
  }));

/** `text` with its "cniVersion" replaced (or removed: undefined), and extra top-level fields. */
function withVersion(text: string, cniVersion: string | undefined, more: Record<string, unknown> = {}): string {
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (cniVersion === undefined) delete doc.cniVersion;
  else doc.cniVersion = cniVersion;
  return `${JSON.stringify({ ...doc, ...more }, null, 2)}\n`;
}

test('CNI 1.1.0 lists get the entry when the plugin speaks 1.1.0; a version it does not speak leaves the file alone and the agent not ready', async () => {
  await withHost(async (host) => {
    const path = join(host.netDir, '10-calico.conflist');
    writeFileSync(path, withVersion(calicoConflist, '1.1.0'));
    const agent = host.agent();
    await agent.start();
    assert.equal(agent.status.ready, true, agent.status.reason);
    assert.equal(pluginTypes(path).at(-1), 'pillion-cni');
  });
  const cases: [string, string, RegExp][] = [
    ['a plugin that speaks up to 1.0.0, a 1.1.0 list', withVersion(calicoConflist, '1.1.0'), /CNI version 1\.1\.0, which pillion-cni does not speak \(it speaks 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0\)/],
    ['no "cniVersion"', withVersion(calicoConflist, undefined), /CNI version \(none: no "cniVersion"\)/],
    ['"cniVersions" up to 1.1.0 beside "cniVersion" 0.3.1', withVersion(calicoConflist, '0.3.1', { cniVersions: ['0.4.0', '1.1.0', '2.0.0'] }), /CNI version 1\.1\.0,/],
    ['"cniVersions" with a malformed entry', withVersion(calicoConflist, '0.3.1', { cniVersions: ['1.x'] }), /"cniVersions" has "1\.x", not a version/],
  ];
  for (const [what, text, reason] of cases) {
    await withHost(async (host) => {
      const path = join(host.netDir, '10-calico.conflist');
      writeFileSync(path, text);
      const agent = host.agent();
      await agent.start();
      assert.equal(agent.status.ready, false, what);
      assert.match(agent.status.reason, /^not adding Pillion's entry to 10-calico\.conflist: /, what);
      assert.match(agent.status.reason, reason, what);
      assert.equal(readFileSync(path, 'utf8'), text, `${what}: the file is untouched`);
    }, versionScriptFor(['0.3.0', '0.3.1', '0.4.0', '1.0.0']));
  }
});

test('the primary moves its list to a version the plugin does not speak: the entry comes out, the agent is not ready until it is back', () =>
  withHost(async (host) => {
    const path = join(host.netDir, '10-flannel.conflist');
    writeFileSync(path, flannelConflist);
    const agent = host.agent();
    await agent.start();
    assert.equal(agent.status.ready, true, agent.status.reason);
    const newer = withVersion(JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')) as object }), '9.0.0');
    writeFileSync(path, newer);
    await waitFor('not ready', () => !agent.status.ready);
    assert.match(agent.status.reason, /CNI version 9\.0\.0, which pillion-cni does not speak/);
    assert.deepEqual(pluginTypes(path), ['flannel', 'portmap'], 'the entry is out of the list the runtime would fail on');
    assert.equal(loadState(join(host.netDir, ownDirName)), undefined, 'forgotten: nothing left to restore');
    await delay(1200); // more than two polls: the entry is taken out once, not again on every pass
    assert.equal(host.logs.filter((l) => /removed Pillion's entry|restored/.test(l)).length, 1, host.logs.join('\n'));
    writeFileSync(path, flannelConflist);
    await waitFor('ready again', () => agent.status.ready);
    assert.equal(pluginTypes(path).at(-1), 'pillion-cni');
    assert.match(host.logs.at(-2) ?? '', /^inserted Pillion last in 10-flannel\.conflist/, 'a new insertion, not blamed on the primary as a rewrite');
  }));

test('the runtime\'s first file is a symbolic link: not ready, the link and its target untouched; dot-files count, as libcni counts them', () =>
  withHost(async (host) => {
    const target = join(host.root, 'configmap-calico.conflist');
    writeFileSync(target, calicoConflist);
    symlinkSync(target, join(host.netDir, '10-calico.conflist'));
    writeFileSync(join(host.netDir, '20-flannel.conflist'), flannelConflist);
    const agent = host.agent();
    await agent.start();
    assert.equal(agent.status.ready, false);
    assert.match(agent.status.reason, /10-calico\.conflist, the configuration the runtime uses, is a symbolic link/);
    assert.equal(lstatSync(join(host.netDir, '10-calico.conflist')).isSymbolicLink(), true);
    assert.equal(readFileSync(target, 'utf8'), calicoConflist);
    assert.equal(readFileSync(join(host.netDir, '20-flannel.conflist'), 'utf8'), flannelConflist, 'not the second file instead');
    await agent.stop();
    uninstall({ hostRoot: host.root, paths, log: () => undefined });
    assert.equal(lstatSync(join(host.netDir, '10-calico.conflist')).isSymbolicLink(), true, 'uninstall leaves the link a link');
    rmSync(join(host.netDir, '10-calico.conflist'));

    // A dot-file sorts first ("." before digits) and is the one the runtime uses.
    writeFileSync(join(host.netDir, '.00-hidden.conflist'), flannelConflist);
    const second = host.agent();
    await second.start();
    assert.equal(second.status.ready, true, second.status.reason);
    assert.equal(pluginTypes(join(host.netDir, '.00-hidden.conflist')).at(-1), 'pillion-cni');
  }));

/** An agent that put its entry into Calico's list, ready. */
async function readyOnCalico(host: TestHost): Promise<{ path: string; agent: Agent }> {
  const path = join(host.netDir, '10-calico.conflist');
  writeFileSync(path, calicoConflist);
  const agent = host.agent();
  await agent.start();
  assert.equal(agent.status.ready, true, agent.status.reason);
  return { path, agent };
}

test('an edit made while the entry is in place (the entry kept last) is what uninstall leaves, less the entry', () =>
  withHost(async (host) => {
    const { path, agent } = await readyOnCalico(host);
    // The primary (or an operator) rewrites the list with a new MTU, keeping Pillion's entry last.
    const edited = JSON.parse(readFileSync(path, 'utf8')) as { plugins: Record<string, unknown>[] };
    edited.plugins[0] = { ...edited.plugins[0], mtu: 8981 };
    writeFileSync(path, `${JSON.stringify(edited, null, 2)}\n`);
    await waitFor('the agent to take the edit in', () => loadState(join(host.netDir, ownDirName))?.writtenHash === sha256(readFileSync(path)));
    await agent.stop();
    uninstall({ hostRoot: host.root, paths, log: () => undefined });
    const after = readJson(path) as { plugins: Record<string, unknown>[] };
    assert.deepEqual(after.plugins.map((p) => p.type), ['calico', 'portmap', 'bandwidth']);
    assert.equal(after.plugins[0]?.mtu, 8981, 'the edit survives uninstall');
  }));

test('the file with the entry becomes a symbolic link to the same bytes (the entry moved into a ConfigMap): left a link, never restored through, forgotten', () =>
  withHost(async (host) => {
    const { path, agent } = await readyOnCalico(host);
    const target = join(host.root, 'configmap-calico.conflist');
    const withEntry = readFileSync(path);
    writeFileSync(target, withEntry);
    rmSync(path);
    symlinkSync(target, path);
    await waitFor('not ready', () => !agent.status.ready);
    assert.match(agent.status.reason, /is a symbolic link/);
    await delay(1200);
    assert.equal(lstatSync(path).isSymbolicLink(), true, 'still a link');
    assert.deepEqual(readFileSync(target), withEntry, 'the target is untouched');
    assert.equal(loadState(join(host.netDir, ownDirName)), undefined);
    await agent.stop();
    uninstall({ hostRoot: host.root, paths, log: () => undefined });
    assert.equal(lstatSync(path).isSymbolicLink(), true, 'uninstall leaves the link a link');
    assert.deepEqual(readFileSync(target), withEntry);
  }));
