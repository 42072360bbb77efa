// What one apply, inspect or cleanup reads of the namespace: every read-only command runs at most
// once, and the ones it will need are started together, before the first answer is awaited. Back
// end detection, the IPv6 decision and the installed state then share the same answers: nothing
// writes between them, since the caller has not changed anything yet.
import { toolName, type Backend } from '../backend/tools.js';
import type { BackendChoice } from '../config.js';
import type { CommandResult, Executor } from '../exec/executor.js';
import type { IpFamily } from '../values.js';

/** `ip` listing lo's IPv6 addresses: whether IPv6 works on lo, and whether ::6 is already there. */
export const showLoopback6 = ['ip', '-6', '-o', 'addr', 'show', 'dev', 'lo'] as const;

export class Reads {
  private readonly answers = new Map<string, Promise<CommandResult>>();
  constructor(private readonly executor: Executor) {}

  private run(argv: readonly string[]): Promise<CommandResult> {
    const key = argv.join('\u0000');
    let answer = this.answers.get(key);
    if (answer === undefined) {
      answer = this.executor.run(argv);
      this.answers.set(key, answer);
    }
    return answer;
  }

  save(backend: Backend, family: IpFamily): Promise<CommandResult> {
    return this.run([toolName('save', backend, family)]);
  }

  iptablesVersion(): Promise<CommandResult> {
    return this.run(['iptables', '--version']);
  }

  loopback6(): Promise<CommandResult> {
    return this.run(showLoopback6);
  }

  /**
   * Starts at once every read that settling the back end (`choice`), the families (of
   * `families`) and lo's IPv6 address needs. Detection counts the rules of both families in both
   * back ends; a chosen back end needs only its own saves.
   */
  prefetch(choice: BackendChoice, families: readonly IpFamily[], loopback: boolean): void {
    const started: Promise<CommandResult>[] = [];
    for (const backend of choice === 'auto' ? (['legacy', 'nft'] as const) : [choice]) {
      for (const family of choice === 'auto' ? ([4, 6] as const) : families) started.push(this.save(backend, family));
    }
    if (choice === 'auto') started.push(this.iptablesVersion());
    if (loopback) started.push(this.loopback6());
    // An answer nobody turns out to need must not surface as an unhandled rejection.
    for (const p of started) void p.catch(() => undefined);
  }
}
