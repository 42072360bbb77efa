// The node agent: keeps the plugin binary, its kubeconfig and its entry in the primary's
// configuration in place, repairs them when something else changes them, and says whether the
// node is ready for CNI-mode pods (HTTP /readyz, an optional readiness file, /metrics).
import { mkdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { nonExclusiveHint, pluginType, primaryType, type Json } from './conflist.js';
import { ensureEntry } from './entry.js';
import { copyAtomic, readIfExists, removeDurably, sha256File, writeAtomic } from './files.js';
import { readServiceAccount, renderKubeconfig } from './kubeconfig.js';
import type { PlatformPaths } from './presets.js';
import { ownDirName } from './state.js';
import { checkVersion, type ExecMode } from './version-check.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';

export interface AgentOptions {
  /** The host's root as the agent sees it ('/' when run on the node itself). */
  readonly hostRoot: string;
  /** Host paths (a preset, or given). */
  readonly paths: PlatformPaths;
  /** The plugin executable to install (a path in the agent's own filesystem). */
  readonly sourceBinary: string;
  readonly execMode: ExecMode;
  /** The directory `--exec chroot` changes root to (default: hostRoot); the host's `/`. */
  readonly chrootDir?: string;
  /** The projected service-account volume (token, ca.crt). */
  readonly serviceAccountDir: string;
  /** The API server URL written into the plugin's kubeconfig. */
  readonly apiServer: string;
  /** Extra settings for the entry (excludeNamespaces, logFile...). */
  readonly entrySettings?: Json;
  /** fs.watch the directories (default true; the poll alone otherwise). */
  readonly watch?: boolean;
  /** The poll that backs up fs.watch (ms). */
  readonly pollMs?: number;
  /** Warn after this many rewrites by the primary. */
  readonly warnAfterRewrites?: number;
  /** HTTP /readyz, /healthz, /metrics; undefined: no server. 0: any free port. */
  readonly httpPort?: number;
  readonly httpHost?: string;
  /** Written (JSON) while ready, removed while not. */
  readonly readyFile?: string;
  readonly versionTimeoutMs?: number;
  /** Called when readiness flips (the repair of early pods waits for it). */
  readonly onReadyChange?: (ready: boolean) => void;
  /** Where the agent counts (and /metrics serves); shared with the repairer. Default: its own. */
  readonly metrics?: AgentMetrics;
  readonly log: (line: string) => void;
}

export interface AgentStatus {
  readonly ready: boolean;
  readonly reason: string;
  readonly file: string | undefined;
  readonly primary: string | undefined;
  readonly rewrites: number;
}

export const binaryName = pluginType;

export class Agent {
  private readonly netDir: string;
  private readonly binDir: string;
  private readonly ownDir: string;
  private readonly hostOwnDir: string;
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private versionOkFor: string | undefined;
  /** The CNI versions the installed binary speaks (its VERSION answer), once it has run. */
  private pluginVersions: readonly string[] = [];
  private readonly hashes = new Map<string, { identity: string; hash: string }>();
  private lastVersionAttempt = 0;
  private lastVersionReason = '';
  private readyState: AgentStatus = { ready: false, reason: 'starting', file: undefined, primary: undefined, rewrites: 0 };
  private rewrites = 0;
  readonly metrics: AgentMetrics;
  private readonly rewritesByPrimary = new Map<string, number>();

  constructor(private readonly options: AgentOptions) {
    this.netDir = join(options.hostRoot, options.paths.netDir);
    this.binDir = join(options.hostRoot, options.paths.binDir);
    this.hostOwnDir = join(options.paths.netDir, ownDirName);
    this.ownDir = join(options.hostRoot, this.hostOwnDir);
    this.metrics = options.metrics ?? createAgentMetrics();
  }

  get status(): AgentStatus {
    return this.readyState;
  }

  /** The entry the agent keeps last in the primary's list. */
  entry(): Json {
    return {
      type: pluginType,
      kubeconfig: join(this.hostOwnDir, 'kubeconfig'),
      capabilities: { 'io.kubernetes.cri.pod-annotations': true },
      ...(this.options.entrySettings ?? {}),
    };
  }

  async start(): Promise<void> {
    if (this.options.httpPort !== undefined) await this.listen(this.options.httpPort);
    await this.reconcile();
    this.timer = setInterval(() => void this.reconcile(), this.options.pollMs ?? 500);
  }

  get httpPort(): number | undefined {
    const address = this.server?.address();
    return address !== null && typeof address === 'object' ? address.port : undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    await this.running;
    if (this.options.readyFile !== undefined) removeDurably(this.options.readyFile);
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
    this.server?.closeAllConnections();
  }

  /** Runs one pass now, or once more right after the pass in progress. */
  reconcile(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (error) {
          this.metrics.reconcileErrors.inc();
          this.setReady(false, `reconcile failed: ${(error as Error).message}`);
        }
      } while (this.again && !this.stopped);
      this.running = undefined;
    })();
    return this.running;
  }

  private async pass(): Promise<void> {
    this.ensureWatches();
    // 1. The binary, copied when missing or different (atomically: a runtime may be executing it).
    // It is large (the Node runtime is inside): each file is hashed only when its identity
    // (device, inode, size, times) changed since it was last hashed, not on every poll.
    const hash = this.hashOf(this.options.sourceBinary);
    if (hash === undefined) return this.setReady(false, `the plugin executable to install is missing: ${this.options.sourceBinary}`);
    const binaryPath = join(this.binDir, binaryName);
    if (this.hashOf(binaryPath) !== hash) {
      copyAtomic(this.options.sourceBinary, binaryPath, { mode: 0o755, uid: 0, gid: 0 });
      this.metrics.binaryWrites.inc();
      this.options.log(`installed ${binaryPath}`);
    }
    // 2. It must run on this host before the runtime is told to use it.
    if (this.versionOkFor !== hash) {
      if (Date.now() - this.lastVersionAttempt < 5000 && this.lastVersionReason !== '') return this.setReady(false, this.lastVersionReason);
      this.lastVersionAttempt = Date.now();
      const check = await checkVersion({
        agentPath: binaryPath,
        hostRoot: this.options.chrootDir ?? this.options.hostRoot,
        hostPath: join(this.options.paths.binDir, binaryName),
        mode: this.options.execMode,
        timeoutMs: this.options.versionTimeoutMs ?? 10_000,
      });
      if (!check.ok) {
        if (check.reason !== this.lastVersionReason) this.options.log(check.reason);
        this.lastVersionReason = check.reason;
        return this.setReady(false, check.reason);
      }
      this.lastVersionReason = '';
      this.versionOkFor = hash;
      this.pluginVersions = check.versions;
      this.options.log(`${binaryName} runs on this host (CNI ${check.versions.join(', ')})`);
    }
    // 3. The kubeconfig, rewritten when the token (or CA, or server) changes.
    let kubeconfig: Buffer;
    try {
      kubeconfig = renderKubeconfig(this.options.apiServer, readServiceAccount(this.options.serviceAccountDir));
    } catch (error) {
      return this.setReady(false, (error as Error).message);
    }
    mkdirSync(this.ownDir, { recursive: true, mode: 0o700 });
    const kubeconfigPath = join(this.ownDir, 'kubeconfig');
    const current = readIfExists(kubeconfigPath);
    if (current === undefined || !current.equals(kubeconfig)) {
      writeAtomic(kubeconfigPath, kubeconfig, { mode: 0o600, uid: 0, gid: 0 });
      this.metrics.kubeconfigWrites.inc();
      this.options.log(`wrote ${kubeconfigPath}${current === undefined ? '' : ' (token or CA changed)'}`);
    }
    // 4. The entry.
    const outcome = ensureEntry(this.netDir, this.ownDir, this.entry(), this.pluginVersions, this.options.log);
    if (outcome.status === 'waiting') {
      if (outcome.reason !== this.readyState.reason) this.options.log(outcome.reason);
      return this.setReady(false, outcome.reason);
    }
    const primary = primaryType(outcome.primary);
    if (outcome.status === 'inserted') {
      this.metrics.entryWrites.inc();
      if (outcome.rewrite) this.countRewrite(primary);
    }
    this.setReady(true, `Pillion is last in ${outcome.file}`, outcome.file, primary);
  }

  /** sha256 of a file, recomputed only when its identity changed; undefined when it is missing. */
  private hashOf(path: string): string | undefined {
    let identity: string;
    try {
      const stat = statSync(path, { bigint: true });
      identity = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.hashes.delete(path);
      return undefined;
    }
    const known = this.hashes.get(path);
    if (known?.identity === identity) return known.hash;
    const hash = sha256File(path);
    if (hash === undefined) return undefined;
    this.hashes.set(path, { identity, hash });
    return hash;
  }

  private countRewrite(primary: string): void {
    this.rewrites++;
    const count = (this.rewritesByPrimary.get(primary) ?? 0) + 1;
    this.rewritesByPrimary.set(primary, count);
    this.metrics.primaryRewrites.inc({ primary });
    const warnAfter = this.options.warnAfterRewrites ?? 3;
    if (count === warnAfter || (count > warnAfter && count % (warnAfter * 10) === 0)) {
      this.options.log(
        `warning: the primary CNI (${primary}) has rewritten its configuration ${count} times, removing Pillion's entry each time; ` +
          `it was put back each time, but pods created in between are not captured. ${nonExclusiveHint(primary)}`,
      );
    }
  }

  private setReady(ready: boolean, reason: string, file?: string, primary?: string): void {
    const was = this.readyState.ready;
    this.readyState = { ready, reason, file, primary, rewrites: this.rewrites };
    this.metrics.ready.set(ready ? 1 : 0);
    if (was !== ready) {
      this.options.log(ready ? `ready: ${reason}` : `not ready: ${reason}`);
      this.options.onReadyChange?.(ready);
    }
    const readyFile = this.options.readyFile;
    if (readyFile === undefined) return;
    if (ready) {
      const text = Buffer.from(`${JSON.stringify(this.readyState)}\n`);
      if (!text.equals(readIfExists(readyFile) ?? Buffer.alloc(0))) writeAtomic(readyFile, text, { mode: 0o644 });
    } else if (was || readIfExists(readyFile) !== undefined) removeDurably(readyFile);
  }

  /** fs.watch on the net dir, the bin dir and the token's dir; re-tried each poll when missing. */
  private ensureWatches(): void {
    if (this.stopped || this.options.watch === false) return;
    const targets: [string, ((name: string | null) => boolean) | undefined][] = [
      [this.netDir, undefined],
      [this.binDir, (name) => name === null || name === binaryName || name.startsWith(`.${binaryName}`)],
      [this.options.serviceAccountDir, undefined],
    ];
    for (const [dir, relevant] of targets) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (relevant === undefined || relevant(name)) void this.reconcile();
        });
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, watcher);
      } catch {
        // not there yet (e.g. no net dir before the primary): the poll covers it
      }
    }
  }

  private listen(port: number): Promise<void> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/readyz') {
        response.writeHead(this.readyState.ready ? 200 : 503, { 'content-type': 'text/plain' });
        response.end(`${this.readyState.reason}\n`);
      } else if (path === '/healthz') {
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/metrics') {
        void this.metrics.registry.metrics().then(
          (text) => response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
          () => response.writeHead(500).end(),
        );
      } else {
        response.writeHead(404).end();
      }
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.httpHost ?? '127.0.0.1', () => resolve());
    });
  }
}
