// Long-running helper processes (servers, proxies) with line-buffered output, bounded waits and
// guaranteed termination. Every started service is also registered to be killed synchronously
// if the test process dies first (exit-cleanup.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { registerExitCleanup } from './exit-cleanup.js';

export interface ServiceOptions {
  /** Resolve start() only once a stdout line matches; the service's own "I am listening" signal. */
  readonly ready?: RegExp;
  readonly readyTimeoutMs?: number;
  /** Environment of the process; this process's own when absent. */
  readonly env?: NodeJS.ProcessEnv;
  /** Also append all of its stderr to this file (the in-memory copy keeps only the tail). */
  readonly logFile?: string;
}

type Waiter = { match: (line: string) => boolean; resolve: (line: string) => void };

export class Service {
  /** Every stdout line so far, in order. */
  readonly lines: string[] = [];
  private stderrText = '';
  private readonly waiters = new Set<Waiter>();
  private exited: Promise<void>;
  private exitCode: number | null = null;
  private hasExited = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    logFile?: string,
  ) {
    const unregister = registerExitCleanup(() => {
      child.kill('SIGKILL');
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : 128);
        this.hasExited = true;
        unregister();
        resolve();
      });
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const waiter of [...this.waiters]) {
        if (waiter.match(line)) {
          this.waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      // Keep the tail only: it is for failure messages, and a chatty process must not grow memory.
      this.stderrText = (this.stderrText + chunk).slice(-8192);
      if (logFile !== undefined) appendFileSync(logFile, chunk);
    });
  }

  /** Start argv (no shell). Throws, with the process's stderr, if it exits or is not ready in time. */
  static async start(name: string, argv: readonly string[], options: ServiceOptions = {}): Promise<Service> {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('Service.start: empty argv');
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    const service = new Service(name, child, options.logFile);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve());
    });
    if (options.ready !== undefined) {
      const ready = options.ready;
      try {
        await Promise.race([
          service.waitForLine((line) => ready.test(line), options.readyTimeoutMs ?? 10_000),
          service.exited.then(() => {
            throw new Error(`exited with ${service.exitCode} before it was ready`);
          }),
        ]);
      } catch (error) {
        await service.stop();
        throw new Error(`${name}: ${(error as Error).message}; stderr: ${service.stderr.trim()}`, { cause: error });
      }
    }
    return service;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get alive(): boolean {
    return !this.hasExited;
  }

  /** The first line (already seen or still to come) matching `match`, or a rejection after timeoutMs. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number, fromIndex = 0): Promise<string> {
    const seen = this.lines.slice(fromIndex).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.name}: no matching output line within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** SIGKILL without waiting: for synchronous last-resort cleanup. */
  killNow(): void {
    if (!this.hasExited) this.child.kill('SIGKILL');
  }

  /** SIGTERM, then SIGKILL if it has not exited within 2 s. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    const killed = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
    ]);
    if (!killed) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
