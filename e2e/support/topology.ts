// The test pod: a "pod" namespace and a "peer" namespace joined by two veth links, with real
// servers on both sides and real proxies in the pod running as the proxy's uid/gid 1337.
//
//   pod namespace                                    peer namespace
//   app (8080 8081 9090 22 15021 15090)              peer (tcp 8080 8081 7070 53, udp 53)
//   pod-dns (15053 tcp+udp, uid 1337)
//   haproxy  (IPv4 15001/15006, uid 1337)
//   original_dst_proxy.py (IPv6 15001/15006, 1337)
//   pod0 10.240.N.2 fd00:240:N::2  <-- veth -->  peer0 10.240.N.1 (+ .3) fd00:240:N::1 (+ ::3)
//   pod1 10.241.N.2 fd00:241:N::2  <-- veth -->  peer1 10.241.N.1        fd00:241:N::1
//
// All addresses are private (RFC 1918 / ULA) and exist only inside these namespaces.
import { rmSync } from 'node:fs';
import { repoPath } from '../../test/support/paths.js';
import { registerExitCleanup } from './exit-cleanup.js';
import { writeHaproxyConfig } from './haproxy.js';
import type { Family } from './iptables.js';
import {
  addAddress,
  addVethPair,
  asIdentity,
  createNamespace,
  deleteNamespace,
  inNamespace,
  python3,
  runChecked,
  uniqueName,
  type Identity,
} from './netns.js';
import { Service } from './process.js';

export const PROXY: Identity = { uid: 1337, gid: 1337 };
/** An ordinary application process. */
export const APP: Identity = { uid: 1000, gid: 1000 };
/** Another uid that shares the proxy's gid: the gid exemption must cover it. */
export const PROXY_GROUP_MEMBER: Identity = { uid: 1001, gid: 1337 };
export const ROOT: Identity = { uid: 0, gid: 0 };

export const appPorts = [8080, 8081, 9090, 22, 15021, 15090] as const;
export const peerTcpPorts = [8080, 8081, 7070, 53] as const;
export const dnsPort = 15053;

/** Addresses of one family. */
export interface FamilyAddresses {
  /** The pod's IP on the main link (what Kubernetes would call the pod IP). */
  readonly pod: string;
  readonly peer: string;
  /** A second peer address on the main link, for CIDR include/exclude cases. */
  readonly peerAlt: string;
  /** The pod's and peer's addresses on the second link (the excluded-interface cases). */
  readonly pod2: string;
  readonly peer2: string;
  readonly loopback: string;
  /** Where the proxy's inbound forwards come from. */
  readonly inboundSource: string;
  /** Host-route prefix length, for /32 or /128 CIDRs. */
  readonly hostPrefix: number;
}

export interface PodTopology {
  readonly pod: string;
  readonly peer: string;
  /** The pod-side name of the second link. */
  readonly secondInterface: string;
  readonly addresses: Record<Family, FamilyAddresses>;
  readonly services: {
    readonly app: Service;
    readonly dns: Service;
    readonly peer: Service;
    /** haproxy for IPv4, original_dst_proxy.py for IPv6 (replaced by withProxiesStopped). */
    proxy: Record<Family, Service>;
  };
  /**
   * Run `action` with both proxies stopped (pillion-init verify needs the proxy ports free: it
   * listens there itself), then start fresh proxies whatever the outcome.
   */
  withProxiesStopped<T>(action: () => Promise<T>): Promise<T>;
  destroy(): Promise<void>;
}

function addressesFor(index: number): Record<Family, FamilyAddresses> {
  return {
    4: {
      pod: `10.240.${index}.2`,
      peer: `10.240.${index}.1`,
      peerAlt: `10.240.${index}.3`,
      pod2: `10.241.${index}.2`,
      peer2: `10.241.${index}.1`,
      loopback: '127.0.0.1',
      inboundSource: '127.0.0.6',
      hostPrefix: 32,
    },
    6: {
      pod: `fd00:240:${index}::2`,
      peer: `fd00:240:${index}::1`,
      peerAlt: `fd00:240:${index}::3`,
      pod2: `fd00:241:${index}::2`,
      peer2: `fd00:241:${index}::1`,
      loopback: '::1',
      inboundSource: '::6',
      hostPrefix: 128,
    },
  };
}

const serversScript = repoPath('e2e', 'support', 'servers.py');
const proxyScript = repoPath('e2e', 'netns', 'original_dst_proxy.py');
const ready = /^READY$/;

function portArgs(flag: string, ports: readonly number[]): string[] {
  return ports.flatMap((p) => [flag, String(p)]);
}

/** Poll `ss` (bounded, 5 s) until every `addr:port` listens in `ns`; fail early if `owner` exits. */
/** Wait (5 s at most) until `owner` listens on every `endpoints` entry (as `ss` prints them) in `ns`. */
export async function waitForListeners(ns: string, endpoints: readonly string[], owner: Service): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const table = await runChecked(inNamespace(ns, ['ss', '-Hltn']));
    const listening = table.split('\n').map((line) => line.trim().split(/\s+/)[3]);
    if (endpoints.every((e) => listening.includes(e))) return;
    if (!owner.alive) throw new Error(`${owner.name} exited at start: ${owner.stderr.trim()}`);
    if (Date.now() > deadline) throw new Error(`${owner.name}: ${endpoints.join(', ')} not listening within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Build the topology. `tag` keeps names unique per suite (the process id is added); `index`
 * (1..250) picks the address block. On any failure everything built so far is torn down.
 */
export async function buildPodTopology(tag: string, index: number): Promise<PodTopology> {
  const pod = uniqueName(`pl-${tag}-pod`);
  const peer = uniqueName(`pl-${tag}-peer`);
  const undo: (() => Promise<void> | void)[] = [];
  const destroy = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `tearing down ${pod}/${peer} failed`);
  };
  const started = async (service: Promise<Service>): Promise<Service> => {
    const s = await service;
    undo.push(() => s.stop());
    return s;
  };

  try {
    const addresses = addressesFor(index);
    await createNamespace(pod);
    undo.push(() => deleteNamespace(pod));
    await createNamespace(peer);
    undo.push(() => deleteNamespace(peer));

    const main = { pod: { ns: pod, ifname: 'pod0' }, peer: { ns: peer, ifname: 'peer0' } };
    const second = { pod: { ns: pod, ifname: 'pod1' }, peer: { ns: peer, ifname: 'peer1' } };
    await addVethPair(main.pod, main.peer);
    await addVethPair(second.pod, second.peer);
    for (const family of [4, 6] as const) {
      const a = addresses[family];
      const len = family === 4 ? 24 : 64;
      await addAddress(main.pod, `${a.pod}/${len}`);
      await addAddress(main.peer, `${a.peer}/${len}`);
      await addAddress(main.peer, `${a.peerAlt}/${len}`);
      await addAddress(second.pod, `${a.pod2}/${len}`);
      await addAddress(second.peer, `${a.peer2}/${len}`);
    }

    const haproxyConfig = writeHaproxyConfig();
    const removeConfig = (): void => rmSync(haproxyConfig.dir, { recursive: true, force: true });
    const unregisterConfig = registerExitCleanup(removeConfig);
    undo.push(() => {
      removeConfig();
      unregisterConfig();
    });

    // The app runs as root only because it listens on port 22; its own outbound test traffic is
    // sent by separate client processes running as APP.
    const app = await started(
      Service.start('app', inNamespace(pod, [python3, serversScript, '--name', 'app', ...portArgs('--tcp', appPorts)]), { ready }),
    );
    const dns = await started(
      Service.start(
        'pod-dns',
        inNamespace(pod, asIdentity(PROXY, [python3, serversScript, '--name', 'pod-dns', '--tcp', String(dnsPort), '--udp', String(dnsPort)])),
        { ready },
      ),
    );
    const peerServer = await started(
      Service.start(
        'peer',
        inNamespace(peer, [python3, serversScript, '--name', 'peer', ...portArgs('--tcp', peerTcpPorts), '--udp', '53']),
        { ready },
      ),
    );
    const startProxies = async (): Promise<Record<Family, Service>> => {
      const haproxy = await Service.start('haproxy', inNamespace(pod, asIdentity(PROXY, ['haproxy', '-db', '-f', haproxyConfig.file])));
      let proxy6: Service;
      try {
        proxy6 = await Service.start(
          'original_dst_proxy',
          inNamespace(pod, asIdentity(PROXY, [python3, proxyScript, '--family', '6', '--inbound-source', '::6'])),
          { ready },
        );
      } catch (error) {
        await haproxy.stop();
        throw error;
      }
      try {
        // haproxy prints nothing when it is ready (its first log line is the first connection),
        // so wait until its listeners show up in the namespace's socket table.
        await waitForListeners(pod, ['0.0.0.0:15001', '0.0.0.0:15006'], haproxy);
      } catch (error) {
        await Promise.all([haproxy.stop(), proxy6.stop()]);
        throw error;
      }
      return { 4: haproxy, 6: proxy6 };
    };
    const services = { app, dns, peer: peerServer, proxy: await startProxies() };
    const stopProxies = async (): Promise<void> => {
      await Promise.all([services.proxy[4].stop(), services.proxy[6].stop()]);
    };
    undo.push(stopProxies);

    return {
      pod,
      peer,
      secondInterface: 'pod1',
      addresses,
      services,
      async withProxiesStopped<T>(action: () => Promise<T>): Promise<T> {
        await stopProxies();
        try {
          return await action();
        } finally {
          services.proxy = await startProxies();
        }
      },
      destroy,
    };
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }
}
