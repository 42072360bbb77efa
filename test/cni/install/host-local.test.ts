// Pod IPs stay unique across install and uninstall, with Debian's real bridge and host-local
// (/usr/lib/cni) and the real pillion-cni chained through the converted conflist. Root only:
// everything runs in network namespaces this test creates (one plays the node, so the bridge is
// never made in the host's own network), host-local keeps its leases in a temporary directory,
// and the host's /etc/cni and /opt/cni are never touched.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { uninstall } from '../../../cni/install/uninstall.js';
import { repoPath } from '../../support/paths.js';
import { requirePrivileges } from '../../support/privileges.js';
import { makeHost, paths } from './support.js';

const systemPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function run(file: string, args: readonly string[], env: Record<string, string> = { PATH: systemPath }, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, timeout: 20_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin);
  });
}

async function ip(...args: string[]): Promise<void> {
  const result = await run('ip', args);
  if (result.code !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
}

type Json = Record<string, unknown>;

/** A runtime's ADD of the network in `file` (a .conf or a .conflist), plugins run inside the node namespace. */
async function add(nodeNs: string, cniPath: string[], file: string, podNs: string, id: string): Promise<Json> {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Json;
  const plugins = file.endsWith('.conflist') ? (doc.plugins as Json[]) : [doc];
  let prevResult: Json | undefined;
  for (const plugin of plugins) {
    const type = plugin.type as string;
    const binary = cniPath.map((dir) => join(dir, type)).find((p) => existsSync(p));
    assert.ok(binary !== undefined, `no ${type} in ${cniPath.join(':')}`);
    const config = { ...plugin, name: doc.name, cniVersion: doc.cniVersion, ...(prevResult === undefined ? {} : { prevResult }) };
    const env = { PATH: systemPath, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: `/var/run/netns/${podNs}`, CNI_IFNAME: 'eth0', CNI_PATH: cniPath.join(':') };
    const result = await run('ip', ['netns', 'exec', nodeNs, binary], env, JSON.stringify(config));
    assert.equal(result.code, 0, `${type} ADD failed: ${result.stdout} ${result.stderr}`);
    prevResult = JSON.parse(result.stdout) as Json;
  }
  return prevResult!;
}

function addressOf(result: Json): string {
  const ips = result.ips as { address: string }[];
  assert.equal(ips.length, 1);
  return ips[0]!.address;
}

test('pod IPs stay unique across install and uninstall (bridge + host-local, pillion-cni chained)', async (t) => {
  if (!requirePrivileges(t, ['ip'])) return;
  if (!existsSync('/usr/lib/cni/bridge') || !existsSync('/usr/lib/cni/host-local')) {
    t.skip('needs Debian\'s containernetworking-plugins in /usr/lib/cni');
    return;
  }
  const tag = randomBytes(3).toString('hex');
  const nodeNs = `pl-inst-node-${tag}`;
  const pods = [1, 2, 3, 4].map((n) => `pl-inst-pod-${tag}-${n}`);
  const host = makeHost(`#!/bin/sh\nexec '${process.execPath}' '${repoPath('dist', 'cni', 'bin', 'pillion-cni.js')}' "$@"\n`);
  const created: string[] = [];
  try {
    for (const ns of [nodeNs, ...pods]) {
      await ip('netns', 'add', ns);
      created.push(ns);
    }
    const conf = join(host.netDir, '10-pod-network.conf');
    const confText = `${JSON.stringify({
      cniVersion: '1.0.0',
      name: 'pod-network',
      type: 'bridge',
      bridge: `plbr${tag}`.slice(0, 15),
      isGateway: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.251.9.0/28' }]], dataDir: join(host.root, 'var-lib-cni-networks') },
    }, null, 2)}\n`;
    writeFileSync(conf, confText);
    chmodSync(conf, 0o644);
    const cniPath = [host.binDir, '/usr/lib/cni'];
    const addresses: string[] = [];

    addresses.push(addressOf(await add(nodeNs, cniPath, conf, pods[0]!, 'before')));

    const agent = host.agent();
    await agent.start();
    assert.equal(agent.status.ready, true, agent.status.reason);
    const list = join(host.netDir, '10-pod-network.conflist');
    const chained = await add(nodeNs, cniPath, list, pods[1]!, 'during');
    addresses.push(addressOf(chained));
    await agent.stop();
    uninstall({ hostRoot: host.root, paths, log: () => undefined });
    assert.equal(readFileSync(conf, 'utf8'), confText);
    assert.equal(existsSync(list), false);

    addresses.push(addressOf(await add(nodeNs, cniPath, conf, pods[2]!, 'after')));
    console.error(`# addresses: ${addresses.join(', ')}`);
    assert.equal(new Set(addresses).size, addresses.length, `an address handed out twice: ${addresses.join(', ')}`);

    // What renaming the network (as Istio and Linkerd do when they convert a .conf) would have
    // done: host-local keeps leases per network name, so it hands out a used address again.
    const renamed = join(host.root, 'renamed.conf');
    writeFileSync(renamed, JSON.stringify({ ...(JSON.parse(confText) as Json), name: 'k8s-pod-network' }));
    const duplicate = addressOf(await add(nodeNs, ['/usr/lib/cni'], renamed, pods[3]!, 'renamed'));
    assert.ok(addresses.includes(duplicate), `the renamed network handed out ${duplicate}: the hazard this test guards against`);
  } finally {
    for (const ns of created.reverse()) await run('ip', ['netns', 'del', ns]);
    host.cleanup();
  }
});
