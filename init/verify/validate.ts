// validate: the CNI mode's check, run by an unprivileged init container before anything in the
// pod needs capture. The CNI plugin, not this container, installed the rules (or did not: a pod
// created before the plugin was on its node starts without them). For each address family of
// the pod it proves that an ordinary process's outbound connection is redirected to the proxy's
// outbound port. No uid switching, no root and no capability: this process is the ordinary
// process (its own uid and gid are what the rules see), and it listens on the outbound port
// itself, since the proxy has not started yet. Only the pod's own addresses are probed, on a
// port the plan captures for this process (the planner and simulatePacket say which), so a
// probe whose capture is missing is refused inside the pod and never leaves it. Inbound capture
// cannot be exercised without the proxy's uid (verify's hairpin), so it is not checked here; the
// plugin installs both directions in one transaction per family.
import { randomBytes } from 'node:crypto';
import type { CaptureConfig } from '../config.js';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import type { Logger } from '../logger.js';
import { familyPlan, planCaptureRules } from '../plan/planner.js';
import type { IpFamily } from '../values.js';
import { sendNonce } from './connect.js';
import { closeListeners, listen, probeAddresses, waitFor, type Listener } from './probe.js';
import { capturedPort } from './probe-plan.js';

export interface ValidateResult {
  readonly ok: boolean;
  /** One line: what was checked (ok), or which family's capture is missing and why. */
  readonly detail: string;
}

export interface ProcessIds {
  readonly uid: number;
  readonly gid: number;
}

interface Probe {
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
}

export const notInstalledHint = 'was the pod started before the Pillion CNI plugin was installed on its node?';

function target(probe: Probe): string {
  return probe.family === 6 ? `[${probe.address}]:${probe.port}` : `${probe.address}:${probe.port}`;
}

function currentIds(): ProcessIds {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

export async function validateCapture(
  config: CaptureConfig,
  executor: Executor,
  log: Logger,
  timeoutMs: number,
  ids: ProcessIds = currentIds(),
): Promise<ValidateResult> {
  if (ids.uid === config.proxyUid || ids.gid === config.proxyGid) {
    throw new RuntimeError(
      `validate runs as uid ${ids.uid} gid ${ids.gid}, whose traffic the rules exempt (--proxy-uid ${config.proxyUid}, --proxy-gid ${config.proxyGid}): ` +
        'run it as a uid and gid that are neither',
    );
  }
  const plan = planCaptureRules(config);
  const addresses = await probeAddresses(executor);
  const probes: Probe[] = [];
  const notes: string[] = [];
  for (const family of [4, 6] as const) {
    if (familyPlan(plan, family) === undefined) {
      notes.push(`IPv${family} not checked: the settings do not capture it (--ipv6 off)`);
      continue;
    }
    const own = addresses.filter((a) => a.family === family).map((a) => a.address);
    if (own.length === 0) {
      notes.push(`IPv${family} not checked: the pod has no IPv${family} address besides loopback and link-local`);
      continue;
    }
    const probe = own
      .map((address) => ({ family, address, port: capturedPort(plan, { family, address, ...ids }, config.outboundPort, config) }))
      .find((p): p is Probe => p.port !== undefined);
    if (probe === undefined) {
      notes.push(`IPv${family} not checked: the settings capture no connection to the pod's own address (${own.join(', ')}), and a probe elsewhere could leave the pod`);
      continue;
    }
    probes.push(probe);
  }
  for (const note of notes) log(`validate: ${note}`);
  if (probes.length === 0) return { ok: true, detail: `nothing to check: ${notes.join('; ')}` };

  const listeners: Listener[] = [];
  try {
    for (const family of new Set(probes.map((p) => p.family))) {
      listeners.push(await listen(config.outboundPort, family === 6 ? '::' : '0.0.0.0', 'validate'));
    }
    const passed: string[] = [];
    const failed: { family: IpFamily; why: string }[] = [];
    for (const probe of probes) {
      const nonce = `pillion-validate IPv${probe.family} ${target(probe)} ${randomBytes(8).toString('hex')}`;
      const sent = await sendNonce(probe.address, probe.port, nonce, timeoutMs);
      const arrived = await waitFor(() => listeners.some((l) => l.nonces.has(nonce)), sent.ok ? timeoutMs : 0);
      if (arrived) {
        passed.push(`IPv${probe.family} outbound capture in place (uid ${ids.uid} -> ${target(probe)} reached port ${config.outboundPort})`);
      } else {
        const why = sent.ok ? `the connection to ${target(probe)} was accepted, but not by port ${config.outboundPort}` : sent.reason;
        failed.push({ family: probe.family, why });
      }
    }
    if (failed.length > 0) {
      const families = failed.map((f) => `IPv${f.family}`).join(' and ');
      const why = failed.length === 1 ? failed[0]?.why : failed.map((f) => `IPv${f.family}: ${f.why}`).join('; ');
      return { ok: false, detail: `${families} outbound capture is not in place: ${why} (${notInstalledHint})` };
    }
    return { ok: true, detail: passed.join('; ') };
  } finally {
    await closeListeners(listeners);
  }
}
