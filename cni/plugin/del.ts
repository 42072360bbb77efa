// DEL: remove Pillion's rules from the namespace if it still exists. Idempotent and never
// failing: the namespace or the pod may already be gone, and a failing DEL would keep the runtime
// retrying the sandbox's teardown forever. Problems are logged, never returned.
import { cleanupCapture } from '../../init/index.js';
import { NsenterExecutor } from '../netns/nsenter-executor.js';
import type { CniEnvironment, NetworkConfig } from '../protocol/request.js';
import { lockWaitSeconds } from './add.js';
import type { Log } from './log.js';
import { inspectNetns } from './namespace.js';

export async function runDel(env: CniEnvironment, conf: NetworkConfig | undefined, log: Log): Promise<void> {
  if (env.netns === '') {
    log('del: no namespace given, nothing to remove');
    return;
  }
  const netns = inspectNetns(env.netns);
  if (!netns.usable) {
    log(netns.gone ? `del: namespace ${env.netns} is gone, nothing to remove` : `del: ${netns.reason}; nothing removed there`);
    return;
  }
  const executor = new NsenterExecutor({ netns: env.netns, deadline: Date.now() + (conf?.timeoutMs ?? 10_000), lockWaitSeconds });
  try {
    // Both back ends and both families: whatever an earlier ADD installed, whichever settings it had.
    const transactions = await cleanupCapture({ backend: 'auto', ipv6: 'auto' }, executor, log);
    log(`del: ${transactions === 0 ? 'no Pillion rules in the namespace' : `removed Pillion's rules (${transactions} transaction(s))`}`);
  } catch (error) {
    log(`del: cleanup failed, ignored (the namespace is being torn down): ${(error as Error).message}`);
  }
}
