// verify: prove in THIS network namespace that the installed rules really redirect.
//
// Outbound: an ordinary process (not the proxy's uid/gid) connects to a non-loopback address of
// this namespace, on a port the plan says is captured. Only local addresses are used, so if
// capture is broken the packet still never leaves the host. Inbound: locally generated packets
// never traverse PREROUTING, so a local test cannot exercise the real inbound path; instead we
// use the proxy-uid hairpin (proxy -> own pod IP), which enters the same inbound port selection
// and inbound redirect. Each probe sends a fresh nonce naming its original destination; the
// direction passes only when that nonce arrives on the proxy port's listener (our stand-in for
// reading SO_ORIGINAL_DST, which Node cannot do).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import type { CaptureConfig } from '../config.js';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { simulatePacket, type Packet } from '../explain/simulate.js';
import { planCaptureRules } from '../plan/planner.js';
import type { CapturePlan } from '../plan/types.js';
import { readLocalAddresses } from '../state/local-addresses.js';
import { cidrContains, parseCidr, type IpFamily } from '../values.js';

export interface VerifyResult {
  readonly ok: boolean;
  readonly line: string;
}

interface Probe {
  readonly direction: 'outbound' | 'inbound';
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
  readonly expectPort: number;
  readonly uid: number;
  readonly gid: number;
}

const candidatePorts = [18080, 28080, 38080, 48080, 8080, 80, 443, 9080];
// Resolved when verify runs, not at import: the CNI plugin's single-file bundle imports this
// library without shipping probe-client.js (and has no import.meta.url to resolve it against).
const probeClient = (): string => fileURLToPath(new URL('./probe-client.js', import.meta.url));

/** An id for "an ordinary app process" that is neither the proxy's uid nor its gid. */
function appId(config: CaptureConfig): number {
  let id = 65534;
  while (id === config.proxyUid || id === config.proxyGid) id--;
  return id;
}

function probePacket(p: Omit<Probe, 'expectPort' | 'direction'>): Packet {
  return {
    family: p.family, protocol: 'tcp', source: undefined, destination: p.address, destinationPort: p.port,
    uid: p.uid, gid: p.gid, inInterface: undefined, outInterface: 'lo', inbound: false,
  };
}

/** Pick a port the plan captures for this (address, uid); undefined when none of ours is. */
function choosePort(plan: CapturePlan, base: Omit<Probe, 'port' | 'expectPort' | 'direction'>, expectPort: number, config: CaptureConfig): number | undefined {
  const fromLists = [config.inboundPorts, config.outboundPorts].flatMap((sel) => (sel === '*' ? [] : sel.map((r) => r.first)));
  for (const port of [...candidatePorts, ...fromLists]) {
    const v = simulatePacket(plan, probePacket({ ...base, port })).verdict;
    if (v.kind === 'redirect' && v.port === expectPort) return port;
  }
  return undefined;
}

function isProbeAddress(address: string, device: string): boolean {
  if (device === 'lo') return false;
  return !['127.0.0.0/8', '::1/128', 'fe80::/10'].some((c) => cidrContains(parseCidr(c), address));
}

interface Listener {
  readonly server: Server;
  readonly nonces: Set<string>;
}

async function listen(port: number, host: string): Promise<Listener> {
  const nonces = new Set<string>();
  const server = createServer((socket) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      for (const line of data.split('\n').slice(0, -1)) nonces.add(line);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new RuntimeError(error.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use: verify needs the proxy's ports free (run it before the proxy starts)` : `cannot listen on ${host}:${port}: ${error.message}`)),
    );
    server.listen({ port, host, ipv6Only: host === '::' }, resolve);
  });
  return { server, nonces };
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

export async function verifyCapture(config: CaptureConfig, executor: Executor, log: Logger, timeoutMs: number): Promise<VerifyResult> {
  const plan = planCaptureRules(config);
  const addresses = (await readLocalAddresses(executor)).filter((a) => isProbeAddress(a.address, a.device));
  const probes: Probe[] = [];
  const skipped: string[] = [];
  const app = appId(config);
  for (const family of plan.families.map((f) => f.family)) {
    const address = addresses.find((a) => (family === 4) === !a.address.includes(':'))?.address;
    if (address === undefined) continue;
    const outboundBase = { family, address, uid: app, gid: app };
    const outPort = choosePort(plan, outboundBase, config.outboundPort, config);
    if (outPort === undefined) skipped.push(`IPv${family} outbound (the plan captures no probe port to ${address})`);
    else probes.push({ direction: 'outbound', ...outboundBase, port: outPort, expectPort: config.outboundPort });
    const hairpinBase = { family, address, uid: config.proxyUid, gid: config.proxyGid };
    const inPort = choosePort(plan, hairpinBase, config.inboundPort, config);
    if (inPort === undefined) skipped.push(`IPv${family} inbound (the plan captures no probe port on ${address})`);
    else probes.push({ direction: 'inbound', ...hairpinBase, port: inPort, expectPort: config.inboundPort });
  }
  if (probes.length === 0) {
    throw new RuntimeError(`nothing to verify: no non-loopback address in this namespace${skipped.length > 0 ? ` or ${skipped.join('; ')}` : ''}`);
  }
  for (const s of skipped) log(`verify: skipped ${s}`);

  const listeners: Listener[] = [];
  try {
    const families = new Set(probes.map((p) => p.family));
    for (const port of new Set(probes.map((p) => p.expectPort))) {
      if (families.has(4)) listeners.push(await listen(port, '0.0.0.0'));
      if (families.has(6)) listeners.push(await listen(port, '::'));
    }
    const failures: string[] = [];
    const passes: string[] = [];
    for (const probe of probes) {
      const dest = probe.family === 6 ? `[${probe.address}]:${probe.port}` : `${probe.address}:${probe.port}`;
      const nonce = `pillion-verify ${probe.direction} ${dest} ${randomBytes(8).toString('hex')}`;
      const run = await executor.run([process.execPath, probeClient(), probe.address, String(probe.port), nonce, String(timeoutMs)], {
        uid: probe.uid, gid: probe.gid, timeoutMs: timeoutMs + 2000,
      });
      const arrived = await waitFor(() => listeners.some((l) => l.nonces.has(nonce)), run.exitCode === 0 ? timeoutMs : 0);
      const what = `${probe.direction} IPv${probe.family} (uid ${probe.uid} -> ${dest})`;
      if (arrived) {
        passes.push(`${what} reached proxy port ${probe.expectPort}`);
        log(`verify: ok ${what} reached proxy port ${probe.expectPort}`);
      } else {
        const why = run.exitCode === 0 ? 'connected but not to the proxy listener' : run.stderr.trim();
        failures.push(`${what} did not reach proxy port ${probe.expectPort}: ${why}`);
        log(`verify: FAILED ${what}: ${why}`);
      }
    }
    if (failures.length > 0) {
      const directions = [...new Set(probes.filter((p) => failures.some((f) => f.startsWith(p.direction))).map((p) => p.direction))];
      return { ok: false, line: `verify: FAILED ${directions.join(' and ')} redirection: ${failures.join('; ')}` };
    }
    return { ok: true, line: `verify: ok: ${passes.join('; ')}` };
  } finally {
    await Promise.all(listeners.map((l) => new Promise<void>((r) => l.server.close(() => r()))));
  }
}
