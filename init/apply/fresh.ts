// apply's first try, for the namespace a pod has just been given. There, none of Pillion's chains
// exists yet, and the nft saves that read the state (one process per family, the only reads
// that cost one) would print nothing. So when the back end and the families can be settled
// without them, each family gets the fresh transaction instead: the plan, its chains created by
// `-N` (state/converge.ts). If one of them is there already, the restore refuses the whole
// transaction and changes nothing; the families that went in before it are rolled back and apply
// takes its ordinary path (read, converge). Any other failure is taken back the same way, and the
// ordinary path then meets it again (or, for IPv6 under --ipv6 auto, turns IPv6 off).
//
// Only for nft: a legacy namespace's state comes from /proc files when it has no table, so its
// ordinary path runs no save there either.
import { detectBackendWithoutSaves } from '../backend/detect.js';
import { addInboundSourceV6, decideFamiliesWithoutSaves, givenFamilies, removeInboundSourceV6 } from '../backend/families.js';
import { familiesOf, type CaptureConfig } from '../config.js';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import type { Logger } from '../logger.js';
import { planCaptureRules } from '../plan/planner.js';
import { desiredTables } from '../plan/render.js';
import { buildFreshTransaction, countRuleChanges } from '../state/converge.js';
import type { IpFamily } from '../values.js';
import type { ApplyOptions, ApplyResult } from './apply.js';
import type { Reads } from './reads.js';
import { halfApplied, rollBack, runRestore } from './transaction.js';

/** What apply did on its first try; undefined when it did not apply, and then nothing it did remains. */
export async function applyToFreshNamespace(config: CaptureConfig, executor: Executor, reads: Reads, log: Logger, options: ApplyOptions): Promise<ApplyResult | undefined> {
  // Without files to read, settling the back end and lo's addresses takes processes of their own.
  if (executor.readFiles === undefined) return undefined;
  const candidates = options.families ?? familiesOf(config.ipv6);
  reads.prefetchFiles(config.backend, candidates, candidates.includes(6));
  const backend = await detectBackendWithoutSaves(config.backend, reads);
  if (backend?.backend !== 'nft') return undefined;
  const decision = options.families === undefined ? await decideFamiliesWithoutSaves(config.ipv6, reads) : givenFamilies(options.families);
  const plan = planCaptureRules(config);
  // IPv6 first: it is the likelier to fail (ip6tables without its nat table), and then nothing is to be taken back.
  const work: { family: IpFamily; text: string }[] = [];
  for (const family of [...decision.families].sort((a, b) => b - a)) {
    const text = buildFreshTransaction(desiredTables(plan, family));
    if (text === undefined) return undefined;
    work.push({ family, text });
  }

  const lo = decision.families.includes(6) ? await reads.loopback6() : undefined;
  const needSource = lo !== undefined && !lo.source6;
  const lines = [`backend: ${backend.backend} (${backend.reason})`, decision.reason];
  // As on the ordinary path: when lo shows no IPv6, ::6's likely failure must come before any rule.
  const sourceFirst = needSource && !lo.ipv6;
  let added = false;
  if (sourceFirst) {
    added = (await addInboundSourceV6(executor)) === 'added';
    lines.push(`::6/128 on lo: ${added ? 'added' : 'present'}`);
  }

  const done: { family: IpFamily; before: [] }[] = [];
  for (const { family, text } of work) {
    try {
      await runRestore(executor, backend.backend, family, text);
    } catch (error) {
      const message = (error as Error).message;
      log(
        /Chain already exists/.test(message)
          ? `IPv${family}: Pillion's chains are there already (the first try, for a new namespace, was refused); reading what is installed`
          : `IPv${family}: the first try, for a new namespace, failed (${message}); trying the ordinary way`,
      );
      await undo(executor, done, added, log, undefined);
      return undefined;
    }
    done.push({ family, before: [] });
    lines.push(`IPv${family}: applied ${countRuleChanges(text)} rule change(s) in one transaction, creating Pillion's chains`);
  }

  if (needSource && !sourceFirst) {
    try {
      lines.push(`::6/128 on lo: ${await addInboundSourceV6(executor)}`);
    } catch (error) {
      await undo(executor, done, false, log, error);
      throw error;
    }
  }
  for (const line of lines) log(line);
  return { backend, families: decision.families, changed: decision.families };
}

/**
 * Takes the families back to no Pillion chain at all, as they were, and removes a ::6 this run
 * added. When that fails, throws: with `failure` (what made the try stop) in its message.
 */
async function undo(executor: Executor, done: readonly { family: IpFamily; before: [] }[], added: boolean, log: Logger, failure: unknown): Promise<void> {
  const back = await rollBack(executor, 'nft', done, log);
  if (added) await removeInboundSourceV6(executor, log);
  if (!back) throw halfApplied(failure ?? new RuntimeError('the first try, for a new namespace, went in only in part'));
}
