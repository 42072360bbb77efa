// Whether to program IPv6 too. `auto` means: on when ip6tables works here AND IPv6 is enabled on
// lo (the kernel then can carry IPv6, and the proxy contract needs ::6 on lo). We deliberately do
// not wait for a global IPv6 address: a pod can gain one after this init step has run, and its
// traffic must not then escape the proxy.
import { Reads, showLoopback6 } from '../apply/reads.js';
import { inboundSourceAddresses } from '../contract.js';
import { RuntimeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Ipv6Mode } from '../config.js';
import type { Executor } from '../exec/executor.js';
import type { IpFamily } from '../values.js';
import { toolName, type Backend } from './tools.js';

export interface FamilyDecision {
  readonly families: readonly IpFamily[];
  readonly reason: string;
}

/** The families from reads shared with the rest of apply's work (the save, lo's addresses). */
export async function decideFamilies(mode: Ipv6Mode, backend: Backend, reads: Reads): Promise<FamilyDecision> {
  if (mode === 'off') return { families: [4], reason: 'IPv6 off (--ipv6 off)' };
  if (mode === 'on') return { families: [4, 6], reason: 'IPv6 on (--ipv6 on)' };
  const [save, lo] = await Promise.all([reads.save(backend, 6), reads.loopback6()]);
  if (save.exitCode !== 0) return { families: [4], reason: `IPv6 auto: off, ${toolName('save', backend, 6)} failed: ${save.stderr.trim()}` };
  if (!lo.ipv6) return { families: [4], reason: 'IPv6 auto: off, IPv6 is disabled on lo' };
  return { families: [4, 6], reason: 'IPv6 auto: on, ip6tables works and IPv6 is enabled on lo' };
}

/**
 * The families where a save is not to be run: with `auto`, IPv6 is on when lo carries it, and the
 * IPv6 transaction going in shows that ip6tables works (apply/fresh.ts falls back to decideFamilies
 * when it does not).
 */
export async function decideFamiliesWithoutSaves(mode: Ipv6Mode, reads: Reads): Promise<FamilyDecision> {
  if (mode !== 'auto') return decideFamilies(mode, 'nft', reads);
  if (!(await reads.loopback6()).ipv6) return { families: [4], reason: 'IPv6 auto: off, IPv6 is disabled on lo' };
  return { families: [4, 6], reason: 'IPv6 auto: on, ip6tables works (its transaction went in) and IPv6 is enabled on lo' };
}

/** The families a caller that knows them (the CNI plugin: the pod's addresses) gives apply. */
export function givenFamilies(families: readonly IpFamily[]): FamilyDecision {
  return { families, reason: `families given by the caller: ${families.map((f) => `IPv${f}`).join(', ') || 'none'}` };
}

export function resolveFamilies(mode: Ipv6Mode, backend: Backend, executor: Executor): Promise<FamilyDecision> {
  return decideFamilies(mode, backend, new Reads(executor));
}

/** The proxy's IPv6 inbound source address as `ip` shows and takes it. */
const source6 = `${inboundSourceAddresses[6]}/128`;

/**
 * Add ::6/128 to lo; 'present' when it is there already. `ip` words that refusal (EEXIST) as
 * "RTNETLINK answers: File exists" or, with the kernel's own message, "Error: ipv6: address
 * already assigned."; any other failure is checked by listing lo's addresses.
 */
export async function addInboundSourceV6(executor: Executor): Promise<'present' | 'added'> {
  const added = await executor.run(['ip', '-6', 'addr', 'add', source6, 'dev', 'lo']);
  if (added.exitCode === 0) return 'added';
  if (/File exists|already assigned/.test(added.stderr)) return 'present';
  const shown = await executor.run(showLoopback6);
  if (shown.exitCode === 0 && shown.stdout.split(/\s+/).includes(source6)) return 'present';
  throw new RuntimeError(`ip -6 addr add ${source6} dev lo failed: ${added.stderr.trim()}`);
}

/** Undo addInboundSourceV6's 'added' after a failed apply; a failure here is logged, not thrown. */
export async function removeInboundSourceV6(executor: Executor, log: Logger): Promise<void> {
  const removed = await executor.run(['ip', '-6', 'addr', 'del', source6, 'dev', 'lo']);
  log(removed.exitCode === 0 ? `${source6} on lo: removed again` : `${source6} on lo: could not remove it again: ${removed.stderr.trim()}`);
}
