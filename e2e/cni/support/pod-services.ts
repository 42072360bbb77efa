// What runs in a captured test pod: the sidecar stand-ins (haproxy for IPv4, which reads
// SO_ORIGINAL_DST; original_dst_proxy.py for IPv6) as the proxy's uid 1337, and an app server;
// plus a server in the node namespace for the pod to call. Same programs as e2e/netns uses.
import { rmSync } from 'node:fs';
import { repoPath } from '../../../test/support/paths.js';
import { writeHaproxyConfig } from '../../support/haproxy.js';
import { asIdentity, inNamespace, python3, runChecked } from '../../support/netns.js';
import { Service } from '../../support/process.js';
import { PROXY } from '../../support/topology.js';

const serversScript = repoPath('e2e', 'support', 'servers.py');
const proxyScript = repoPath('e2e', 'netns', 'original_dst_proxy.py');
const ready = /^READY$/;

/** A servers.py responder named `name` on TCP `ports` in `ns`. */
export function startServer(ns: string, name: string, ports: readonly number[]): Promise<Service> {
  return Service.start(name, inNamespace(ns, [python3, serversScript, '--name', name, ...ports.flatMap((p) => ['--tcp', String(p)])]), { ready });
}

export interface Proxies {
  readonly 4: Service;
  readonly 6: Service;
  stop(): Promise<void>;
}

/** Poll `ss` (bounded) until the IPv4 proxy listens: haproxy prints nothing when ready. */
async function waitForListeners(ns: string, owner: Service): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const table = await runChecked(inNamespace(ns, ['ss', '-Hltn']));
    const listening = table.split('\n').map((line) => line.trim().split(/\s+/)[3]);
    if (['0.0.0.0:15001', '0.0.0.0:15006'].every((e) => listening.includes(e))) return;
    if (!owner.alive) throw new Error(`${owner.name} exited at start: ${owner.stderr.trim()}`);
    if (Date.now() > deadline) throw new Error(`${owner.name}: not listening within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startProxies(ns: string): Promise<Proxies> {
  const config = writeHaproxyConfig();
  const haproxy = await Service.start('haproxy', inNamespace(ns, asIdentity(PROXY, ['haproxy', '-db', '-f', config.file])));
  let proxy6: Service | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([haproxy.stop(), proxy6?.stop()]);
    rmSync(config.dir, { recursive: true, force: true });
  };
  try {
    proxy6 = await Service.start('original_dst_proxy', inNamespace(ns, asIdentity(PROXY, [python3, proxyScript, '--family', '6', '--inbound-source', '::6'])), { ready });
    await waitForListeners(ns, haproxy);
    return { 4: haproxy, 6: proxy6, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
