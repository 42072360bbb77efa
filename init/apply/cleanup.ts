// cleanup: remove every PILLION_* chain and every rule jumping into one, per family in one
// transaction, in each backend that has any. Nothing installed is success. Other rules untouched.
import { toolName, type Backend } from '../backend/tools.js';
import { familiesOf, type BackendChoice, type Ipv6Mode } from '../config.js';
import { RuntimeError } from '../errors.js';
import type { Executor } from '../exec/executor.js';
import { buildConvergeTransaction } from '../state/converge.js';
import { parseIptablesSave } from '../state/iptables-save.js';
import type { Logger } from '../logger.js';
import { runRestore } from './transaction.js';

export interface CleanupOptions {
  readonly backend: BackendChoice;
  readonly ipv6: Ipv6Mode;
}

export async function cleanupCapture(options: CleanupOptions, executor: Executor, log: Logger): Promise<number> {
  // With auto, look in both back ends: rules may have been installed by a run that chose the
  // other one, and leaving them would keep capturing traffic invisibly.
  const backends: Backend[] = options.backend === 'auto' ? ['legacy', 'nft'] : [options.backend];
  const families = familiesOf(options.ipv6);
  // Every save at once (reads only); then, one by one, the transactions that are needed.
  const saves = backends.flatMap((backend) => families.map((family) => ({ backend, family, reading: executor.run([toolName('save', backend, family)]) })));
  for (const { reading } of saves) void reading.catch(() => undefined);
  let transactions = 0;
  for (const { backend, family, reading } of saves) {
    const tool = toolName('save', backend, family);
    const saved = await reading;
    if (saved.exitCode !== 0) {
      // An explicitly requested backend/family must be readable; under auto it may be absent.
      if (options.backend !== 'auto' && !(family === 6 && options.ipv6 === 'auto')) {
        throw new RuntimeError(`${tool} failed (exit ${saved.exitCode}): ${saved.stderr.trim()}`);
      }
      log(`${tool} not usable, skipped: ${saved.stderr.trim()}`);
      continue;
    }
    const text = buildConvergeTransaction(parseIptablesSave(saved.stdout), []);
    if (text === '') {
      log(`${backend} IPv${family}: nothing installed`);
      continue;
    }
    await runRestore(executor, backend, family, text);
    transactions++;
    log(`${backend} IPv${family}: removed Pillion's chains and jumps in one transaction`);
  }
  return transactions;
}
