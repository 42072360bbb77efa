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
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import type { CaptureConfig } from '../config.js';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { planCaptureRules } from '../plan/planner.js';
import type { IpFamily } from '../values.js';
import { closeListeners, listen, probeAddresses, waitFor, type Listener } from './probe.js';
import { appId, capturedPort } from './probe-plan.js';

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

// Resolved when verify runs, not at import: the CNI plugin's single-file bundle imports this
// library without shipping probe-client.js (and has no import.meta.url to resolve it against).
const probeClient = (): string => fileURLToPath(new URL('./probe-client.js', import.meta.url));

export async function verifyCapture(config: CaptureConfig, executor: Executor, log: Logger, timeoutMs: number): Promise<VerifyResult> {
  const plan = planCaptureRules(config);
  const addresses = await probeAddresses(executor);
  const probes: Probe[] = [];
  const skipped: string[] = [];
  const app = appId(config);
  for (const family of plan.families.map((f) => f.family)) {
    const address = addresses.find((a) => a.family === family)?.address;
    if (address === undefined) continue;
    const outboundBase = { family, address, uid: app, gid: app };
    const outPort = capturedPort(plan, outboundBase, config.outboundPort, config);
    if (outPort === undefined) skipped.push(`IPv${family} outbound (the plan captures no probe port to ${address})`);
    else probes.push({ direction: 'outbound', ...outboundBase, port: outPort, expectPort: config.outboundPort });
    const hairpinBase = { family, address, uid: config.proxyUid, gid: config.proxyGid };
    const inPort = capturedPort(plan, hairpinBase, config.inboundPort, config);
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
      if (families.has(4)) listeners.push(await listen(port, '0.0.0.0', 'verify'));
      if (families.has(6)) listeners.push(await listen(port, '::', 'verify'));
    }
    const failures: string[] = [];
    const passes: string[] = [];
    for (const probe of probes) {
      const dest = probe.family === 6 ? `[${probe.address}]:${probe.port}` : `${probe.address}:${probe.port}`;
      const nonce = `pillion-verify ${probe.direction} ${dest} ${randomBytes(8).toString('hex')}`;
      const run = await executor.run([process.execPath, probeClient(), probe.address, String(probe.port), nonce, String(timeoutMs)], {
        uid: probe.uid, gid: probe.gid, timeoutMs: timeoutMs + 2000, alongside: true,
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
    await closeListeners(listeners);
  }
}
