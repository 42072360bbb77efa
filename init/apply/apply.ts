// apply: detect backend and families, read what is installed, then converge each family in ONE
// iptables-restore --noflush transaction. If one family fails, the others are rolled back to
// exactly what was installed before, so a failed apply leaves the previous state.
//
// Two waves of programs, each started all at once: first every read (the saves that detection,
// the IPv6 decision and the state share, `iptables --version`, lo's IPv6 addresses), then every
// write (::6 on lo and one transaction per family, independent of each other). A repeated apply
// of the same config stops after the reads. Under nf_tables, when nothing else needs the saves, a
// first try (fresh.ts) goes before all this: in a new namespace it applies without them; where
// Pillion's chains are, its one refused restore changed nothing.
import { detectBackend, type BackendDecision } from '../backend/detect.js';
import { addInboundSourceV6, decideFamilies, givenFamilies, removeInboundSourceV6 } from '../backend/families.js';
import { familiesOf, type CaptureConfig } from '../config.js';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { planCaptureRules } from '../plan/planner.js';
import { desiredTables } from '../plan/render.js';
import { buildConvergeTransaction, countRuleChanges } from '../state/converge.js';
import type { SavedTable } from '../state/iptables-save.js';
import type { IpFamily } from '../values.js';
import type { Logger } from '../logger.js';
import { Reads } from './reads.js';
import { applyToFreshNamespace } from './fresh.js';
import { halfApplied, installedTables, rollBack, runRestore } from './transaction.js';

// Re-exported for init/index.ts until it names the new home (logger.ts).
export type { Logger } from '../logger.js';

/** What a caller that already knows more than the host (the CNI plugin) can decide itself. */
export interface ApplyOptions {
  /**
   * The address families to program, instead of resolving --ipv6 against the host. The CNI plugin
   * passes the families of the pod's addresses (its previous result).
   */
  readonly families?: readonly IpFamily[];
}

export interface ApplyResult {
  readonly backend: BackendDecision;
  readonly families: readonly IpFamily[];
  /** Families whose rules changed (others were already exactly as planned). */
  readonly changed: readonly IpFamily[];
}

interface FamilyWork {
  readonly family: IpFamily;
  readonly before: SavedTable[];
  readonly text: string;
}

export async function applyCapture(config: CaptureConfig, executor: Executor, log: Logger, options: ApplyOptions = {}): Promise<ApplyResult> {
  const reads = new Reads(executor);
  // When the first try does not apply, it has taken back what it changed (nf_tables may keep an
  // empty nat table), so what it read (files, the iptables alternative, lo) stays true.
  const fresh = await applyToFreshNamespace(config, executor, reads, log, options);
  if (fresh !== undefined) return fresh;
  const candidates = options.families ?? familiesOf(config.ipv6);
  // When IPv6 is programmed whatever the reads say, and lo's addresses cannot be read without a
  // process (the CNI plugin's nsenter), ::6 is added in the read wave instead of being read first:
  // "File exists" says it was there, and a failure (IPv6 off on lo) comes before any rule changed.
  const sourceEarly = (options.families?.includes(6) ?? config.ipv6 === 'on') && executor.readFiles === undefined;
  reads.prefetch(config.backend, candidates, candidates.includes(6) && !sourceEarly);
  const early = sourceEarly ? addInboundSourceV6(executor) : undefined;
  void early?.catch(() => undefined);

  let prepared: Prepared;
  try {
    prepared = await prepare(config, reads, log, options);
  } catch (error) {
    if ((await early?.catch(() => undefined)) === 'added') await removeInboundSourceV6(executor, log);
    throw error;
  }
  const { backend, families, work } = prepared;

  let addedInboundSource = false;
  const noteSource = (state: 'present' | 'added'): void => {
    addedInboundSource = state === 'added';
    log(`::6/128 on lo: ${state}`);
  };
  if (early !== undefined) noteSource(await early);
  const lo = families.includes(6) && early === undefined ? await reads.loopback6() : undefined;
  const needSource = lo !== undefined && !lo.source6;
  if (lo !== undefined && !needSource) log('::6/128 on lo: present');
  for (const item of work) if (item.text === '') log(`IPv${item.family}: rules already as planned, nothing to do`);
  const pending = work.filter((item) => item.text !== '');

  // ::6 normally goes together with the transactions. When lo shows no IPv6 (disabled there, or
  // `ip` failed) its add is likely to fail, so it runs first and alone: that failure then leaves
  // every table untouched.
  const sourceFirst = needSource && !lo.ipv6;
  if (sourceFirst) noteSource(await addInboundSourceV6(executor));

  const outcomes = await Promise.allSettled([
    needSource && !sourceFirst ? addInboundSourceV6(executor).then(noteSource) : Promise.resolve(),
    ...pending.map((item) => runRestore(executor, backend.backend, item.family, item.text)),
  ]);
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
  const changed = pending.filter((_, i) => outcomes[i + 1]?.status === 'fulfilled');
  if (failures.length > 0) {
    const back = await rollBack(executor, backend.backend, changed, log);
    // A failed apply leaves the namespace as it was: ::6 too, when this run added it.
    if (addedInboundSource) await removeInboundSourceV6(executor, log);
    throw back ? combined(failures) : halfApplied(combined(failures));
  }
  for (const item of pending) {
    log(`IPv${item.family}: applied ${countRuleChanges(item.text)} rule change(s) in one transaction`);
  }
  return { backend, families, changed: changed.map((item) => item.family) };
}

interface Prepared {
  readonly backend: BackendDecision;
  readonly families: readonly IpFamily[];
  readonly work: readonly FamilyWork[];
}

/** Back end, families and each family's transaction, from the reads alone: nothing changes here. */
async function prepare(config: CaptureConfig, reads: Reads, log: Logger, options: ApplyOptions): Promise<Prepared> {
  const backend = await detectBackend(config.backend, reads);
  log(`backend: ${backend.backend} (${backend.reason})`);
  const familyDecision =
    options.families === undefined
      ? await decideFamilies(config.ipv6, backend.backend, reads)
      : givenFamilies(options.families);
  log(familyDecision.reason);
  const plan = planCaptureRules(config);
  const work: FamilyWork[] = [];
  for (const family of familyDecision.families) {
    const before = installedTables(await reads.save(backend.backend, family), backend.backend, family);
    work.push({ family, before, text: buildConvergeTransaction(before, desiredTables(plan, family)) });
  }
  return { backend, families: familyDecision.families, work };
}

/** The first failure; when several steps failed and all of them as runtime failures, one error naming each. */
function combined(failures: readonly unknown[]): unknown {
  const [first, ...others] = failures;
  if (others.length === 0 || !failures.every((e) => e instanceof RuntimeError)) return first;
  return new RuntimeError(failures.map((e) => e.message).join('; and '));
}
