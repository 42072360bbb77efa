// Long-running helper processes (servers, proxies) with line-buffered output, bounded waits and
// guaranteed termination. Every started service is also registered to be killed synchronously
// if the test process dies first (exit-cleanup.ts).
//
// A service's stderr goes straight to a file, not through a pipe this process drains: tests call
// kubectl and other tools synchronously (spawnSync) for up to a minute, and a daemon that logs
// more than a pipe holds (64 KiB) meanwhile would block on its next write, kubelet included, and
// with it the cluster under test (seen: an injector rollout stuck until the call timed out).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { registerExitCleanup } from './exit-cleanup.js';

export interface ServiceOptions {
  /** Resolve start() only once a stdout line matches; the service's own "I am listening" signal. */
  readonly ready?: RegExp;
  readonly readyTimeoutMs?: number;
  /** Environment of the process; this process's own when absent. */
  readonly env?: NodeJS.ProcessEnv;
  /** Keep its stderr in this file (replaced; kept after it stops). Default: a temporary file. */
  readonly logFile?: string;
}

type Waiter = { match: (line: string) => boolean; resolve: (line: string) => void };

export class Service {
  /** Every stdout line so far, in order. */
  readonly lines: string[] = [];
  private readonly waiters = new Set<Waiter>();
  private exited: Promise<void>;
  private exitCode: number | null = null;
  private hasExited = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly stderrFile: string,
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
  }

  /** Start argv (no shell). Throws, with the process's stderr, if it exits or is not ready in time. */
  static async start(name: string, argv: readonly string[], options: ServiceOptions = {}): Promise<Service> {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('Service.start: empty argv');
    let stderrFile = options.logFile;
    if (stderrFile === undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'pillion-service-'));
      stderrFile = join(dir, 'stderr');
      // Read after the service has gone too (failure messages): removed when this process ends.
      registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }));
    }
    const fd = openSync(stderrFile, 'w', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(file, args, { stdio: ['ignore', 'pipe', fd], env: options.env ?? process.env });
    } finally {
      closeSync(fd);
    }
    const service = new Service(name, child, stderrFile);
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

  /** The last 8 KiB of its stderr (for failure messages). */
  get stderr(): string {
    try {
      const size = statSync(this.stderrFile).size;
      const length = Math.min(size, 8192);
      const buffer = Buffer.alloc(length);
      const fd = openSync(this.stderrFile, 'r');
      try {
        readSync(fd, buffer, 0, length, size - length);
      } finally {
        closeSync(fd);
      }
      return buffer.toString('utf8');
    } catch {
      return '';
    }
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
