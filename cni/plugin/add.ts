// ADD: decide whether the pod is captured; if so program pillion-init's plan inside its
// namespace (one restore per family, rolled back together on failure); pass prevResult through.
import { applyCapture, HalfAppliedError, RuntimeError } from '../../init/index.js';
import { NsenterExecutor } from '../netns/nsenter-executor.js';
import { decideCapture } from '../pod/decide.js';
import { CniError, pluginCodes } from '../protocol/errors.js';
import type { CniEnvironment, NetworkConfig } from '../protocol/request.js';
import { formatPassThrough, requirePrevResult } from '../protocol/result.js';
import { captureFamilies } from './families.js';
import type { Log } from './log.js';
import { requireNetns } from './namespace.js';

/** Seconds iptables-restore may wait for another writer's xtables lock. */
export const lockWaitSeconds = 5;

export async function runAdd(env: CniEnvironment, conf: NetworkConfig, log: Log): Promise<string> {
  const started = Date.now();
  const prevResult = requirePrevResult(conf, 'ADD');
  requireNetns(env.netns);
  const decision = await decideCapture(env, conf, log);
  if (!decision.capture) {
    log(`pass-through: ${decision.reason}`);
    return formatPassThrough(prevResult, conf.cniVersion);
  }
  const families = captureFamilies(decision.config, prevResult);
  const executor = new NsenterExecutor({ netns: env.netns, deadline: started + conf.timeoutMs, lockWaitSeconds });
  try {
    const result = await applyCapture(decision.config, executor, log, { families });
    log(`captured (${result.backend.backend}, IPv${families.join('+IPv')}, changed: ${result.changed.length === 0 ? 'nothing' : result.changed.map((f) => `IPv${f}`).join(', ')}) in ${Date.now() - started} ms`);
  } catch (error) {
    if (error instanceof RuntimeError) {
      const details = error instanceof HalfAppliedError ? 'taking back what had changed failed: the namespace may hold part of the rules' : 'the namespace was left as it was';
      throw new CniError(pluginCodes.applyFailed, `capture rules not installed in ${env.netns}: ${error.message}`, details, { cause: error });
    }
    throw error;
  }
  return formatPassThrough(prevResult, conf.cniVersion);
}
