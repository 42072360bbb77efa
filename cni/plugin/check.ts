// CHECK: a captured pod's namespace must hold exactly the planned rules; flushed or changed
// rules fail it (so the runtime can tell and recreate the pod). Not captured: nothing to check.
import { inspectCapture, RuntimeError } from '../../init/index.js';
import { NsenterExecutor } from '../netns/nsenter-executor.js';
import { decideCapture } from '../pod/decide.js';
import { CniError, pluginCodes, specCodes } from '../protocol/errors.js';
import type { CniEnvironment, NetworkConfig } from '../protocol/request.js';
import { requirePrevResult } from '../protocol/result.js';
import { allowsCheck } from '../protocol/versions.js';
import { lockWaitSeconds } from './add.js';
import { captureFamilies } from './families.js';
import type { Log } from './log.js';
import { requireNetns } from './namespace.js';

export async function runCheck(env: CniEnvironment, conf: NetworkConfig, log: Log): Promise<string> {
  if (!allowsCheck(conf.cniVersion)) {
    throw new CniError(specCodes.incompatibleVersion, `CHECK is not defined for cniVersion ${conf.cniVersion}`, 'CHECK exists from 0.4.0');
  }
  const prevResult = requirePrevResult(conf, 'CHECK');
  requireNetns(env.netns);
  const decision = await decideCapture(env, conf, log);
  if (!decision.capture) {
    log(`check: not captured (${decision.reason})`);
    return '';
  }
  const families = captureFamilies(decision.config, prevResult);
  const executor = new NsenterExecutor({ netns: env.netns, deadline: Date.now() + conf.timeoutMs, lockWaitSeconds });
  let inspection;
  try {
    inspection = await inspectCapture(decision.config, executor, families);
  } catch (error) {
    if (error instanceof RuntimeError) throw new CniError(pluginCodes.rulesNotAsPlanned, `cannot read the rules in ${env.netns}: ${error.message}`);
    throw error;
  }
  const wrong = inspection.families.filter((f) => !f.asPlanned);
  if (wrong.length > 0) {
    throw new CniError(
      pluginCodes.rulesNotAsPlanned,
      `capture rules in ${env.netns} are not as planned for ${wrong.map((f) => `IPv${f.family}`).join(' and ')} (${inspection.backend.backend}): flushed or changed`,
      wrong.map((f) => `IPv${f.family} would need:\n${f.missing}`).join('\n').slice(0, 4000),
    );
  }
  log(`check: rules as planned (${inspection.backend.backend}, IPv${families.join('+IPv')})`);
  return '';
}
