// Repair of pods that started before the plugin was in place on their node (docs/cni.md,
// "Repair"). In CNI mode a pod checks its capture before anything in it needs the proxy: the
// native-sidecar proxy's hold hook fails, leaving a message that starts with "pillion: traffic
// capture missing" as the proxy's termination message, or (a pod whose proxy cannot carry that
// check) the init container pillion-validation exits 126. Either way the pod's sandbox was created
// while Pillion's entry was not (yet) in the runtime's configuration, so nothing captured its
// traffic, and it never will, since the sandbox stays. The agent watches the pods of its own
// node and, once its entry is in place, deletes such a pod so that its controller creates a new
// one, which the plugin captures; or, with --repair label, only labels it. Either way it records
// an Event on the pod.
//
// Guards: it acts only while the agent is ready (entry last in the runtime's configuration, the
// plugin runs here); never twice on one pod uid; at most `burst` actions at once, refilled at one
// per `refillMs`; a pod without a controller (nothing would recreate it) and the pods of a
// controller whose pods it already deleted `ownerLimit` times within `ownerWindowMs` on this node
// are not deleted but reported (an Event only): deleting them would lose the pod, or loop.
import { ApiError, statusMessage, type KubeApi } from './kube-api.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';

export type RepairMode = 'delete' | 'label' | 'off';
export const repairModes: readonly RepairMode[] = ['delete', 'label', 'off'];

/** The CNI-mode validation init container (injector/core/cni-mode.ts validationContainerName; a test keeps them equal). */
export const validateContainer = 'pillion-validation';
/** pillion-init validate's exit code when a family's redirection is missing (init/cli/main.ts). */
export const captureMissingExitCode = 126;
/** The proxy container, whose hold hook checks capture in CNI mode (injector/core/templates.ts proxyContainerName). */
export const proxyContainer = 'pillion-proxy';
/** How the hold hook's failed capture check begins (templates/values.yaml hold.command; a test keeps them equal). */
export const captureMissingMessage = 'pillion: traffic capture missing';
export const captureFailedLabel = 'pillion.dev/capture-failed';
export const statusAnnotation = 'pillion.dev/status';
export const eventReason = 'PillionCaptureMissing';
export const eventComponent = 'pillion-cni-node';

interface Terminated {
  readonly exitCode?: number;
  readonly message?: string;
  readonly finishedAt?: string;
}

interface ContainerStatus {
  readonly name: string;
  readonly state?: { readonly terminated?: Terminated };
  readonly lastState?: { readonly terminated?: Terminated };
}

export interface OwnerReference {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
}

export interface Pod {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid: string;
    readonly resourceVersion?: string;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly labels?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly OwnerReference[];
    readonly deletionTimestamp?: string;
  };
  readonly spec?: { readonly nodeName?: string };
  readonly status?: { readonly initContainerStatuses?: readonly ContainerStatus[] };
}

/** The pod's pillion.dev/status records capture mode "cni" (malformed or absent: no). */
export function inCniMode(pod: Pod): boolean {
  const text = pod.metadata.annotations?.[statusAnnotation];
  if (text === undefined) return false;
  try {
    const status = JSON.parse(text) as { capture?: { mode?: unknown } } | null;
    return typeof status === 'object' && status !== null && status.capture?.mode === 'cni';
  } catch {
    return false;
  }
}

function oneLine(text: string | undefined): string {
  const said = (text ?? '').trim().replace(/\s+/g, ' ');
  return said.length > 300 ? `${said.slice(0, 300)}...` : said;
}

/**
 * Why the pod needs repair: its proxy's hold hook found the capture missing, or its
 * pillion-validation init container terminated with 126, now or the time before (a restarting
 * container); undefined when neither.
 */
export function captureFailure(pod: Pod): string | undefined {
  if (!inCniMode(pod)) return undefined;
  const statuses = pod.status?.initContainerStatuses ?? [];
  const both = (s: ContainerStatus | undefined): (Terminated | undefined)[] => [s?.state?.terminated, s?.lastState?.terminated];
  // The message is the proxy's own termination message: the hook wrote it just before failing.
  const proxy = both(statuses.find((s) => s.name === proxyContainer)).find((t) => t?.message?.trimStart().startsWith(captureMissingMessage) === true);
  if (proxy !== undefined) return `${proxyContainer}'s hold hook found ${oneLine(proxy.message).slice('pillion: '.length)}`;
  const validation = both(statuses.find((s) => s.name === validateContainer)).find((t) => t?.exitCode === captureMissingExitCode);
  if (validation === undefined) return undefined;
  const said = oneLine(validation.message);
  return `${validateContainer} exited ${captureMissingExitCode} (traffic capture missing${said === '' ? '' : `: ${said}`})`;
}

/** The owner that recreates the pod, if any. A mirror pod's "owner" is its Node: none. */
export function controllerOf(pod: Pod): OwnerReference | undefined {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller === true);
  return owner === undefined || owner.kind === 'Node' ? undefined : owner;
}

export type WatchEvent = { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; readonly object: Pod } | { readonly type: 'ERROR'; readonly object: { readonly code?: number; readonly message?: string } };

/** What the repairer needs of the API server: one seam, so tests can use a fake. */
export interface PodRepairApi {
  listPods(nodeName: string): Promise<{ readonly items: readonly Pod[]; readonly resourceVersion: string }>;
  /** Watches from `resourceVersion` until the server ends the stream; rejects on failures. */
  watchPods(nodeName: string, resourceVersion: string, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void>;
  /** 'gone': no pod of that uid any more (404, or the name now belongs to another pod: 409, 422). */
  deletePod(namespace: string, name: string, uid: string): Promise<'deleted' | 'gone'>;
  labelPod(namespace: string, name: string, uid: string): Promise<'labelled' | 'gone'>;
  createEvent(namespace: string, event: Record<string, unknown>): Promise<void>;
}

const segment = encodeURIComponent;

/** The real API: core/v1 pods of one node (field selector), events. */
export function kubePodRepairApi(api: KubeApi, watchSeconds = 300): PodRepairApi {
  const selector = (nodeName: string): string => `fieldSelector=${segment(`spec.nodeName=${nodeName}`)}`;
  const podPath = (namespace: string, name: string): string => `/api/v1/namespaces/${segment(namespace)}/pods/${segment(name)}`;
  return {
    async listPods(nodeName) {
      const items: Pod[] = [];
      let resourceVersion: string;
      let next: string | undefined;
      do {
        const page = await api.json<{ items: Pod[]; metadata: { resourceVersion: string; continue?: string } }>(
          'GET',
          `/api/v1/pods?${selector(nodeName)}&limit=500${next === undefined ? '' : `&continue=${segment(next)}`}`,
        );
        items.push(...page.items);
        resourceVersion = page.metadata.resourceVersion;
        next = page.metadata.continue === '' ? undefined : page.metadata.continue;
      } while (next !== undefined);
      return { items, resourceVersion };
    },
    watchPods(nodeName, resourceVersion, onEvent, signal) {
      const path = `/api/v1/pods?${selector(nodeName)}&watch=true&allowWatchBookmarks=true&resourceVersion=${segment(resourceVersion)}&timeoutSeconds=${watchSeconds}`;
      return api.watch(path, (event) => onEvent(event as WatchEvent), signal, (watchSeconds + 30) * 1000);
    },
    async deletePod(namespace, name, uid) {
      // The uid precondition: a StatefulSet's pod that was recreated under the same name is not ours.
      const response = await api.call('DELETE', podPath(namespace, name), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } });
      if (response.status === 404 || response.status === 409) return 'gone';
      if (response.status !== 200 && response.status !== 202) throw new ApiError(`delete pod ${namespace}/${name}: ${response.status} ${statusMessage(response.body)}`, response.status);
      return 'deleted';
    },
    async labelPod(namespace, name, uid) {
      // metadata.uid in the patch guards it too: the API server refuses to change a pod's uid, so
      // another pod of that name answers 422 naming metadata.uid (the real API server's answer).
      const response = await api.call('PATCH', podPath(namespace, name), { metadata: { uid, labels: { [captureFailedLabel]: 'true' } } }, 'application/merge-patch+json');
      if (response.status === 404 || response.status === 409 || (response.status === 422 && response.body.includes('metadata.uid'))) return 'gone';
      if (response.status !== 200) throw new ApiError(`label pod ${namespace}/${name}: ${response.status} ${statusMessage(response.body)}`, response.status);
      return 'labelled';
    },
    async createEvent(namespace, event) {
      await api.json('POST', `/api/v1/namespaces/${segment(namespace)}/events`, event);
    },
  };
}

export interface RepairerOptions {
  readonly mode: 'delete' | 'label';
  readonly nodeName: string;
  readonly api: PodRepairApi;
  /** The agent's readiness: the entry is in place and the plugin runs on this node. */
  readonly isReady: () => boolean;
  readonly log: (line: string) => void;
  /** Relist every pod of the node this often (ms; default 5 minutes). */
  readonly resyncMs?: number;
  /** Actions that may happen at once, and the time (ms) to earn one more. Default 5, 6 s. */
  readonly burst?: number;
  readonly refillMs?: number;
  /** Deletions of one controller's pods within the window before the next is only reported. */
  readonly ownerLimit?: number;
  readonly ownerWindowMs?: number;
  /** First retry delay after a failed list/watch or action (doubles up to 30 s). */
  readonly retryMs?: number;
  /** Attempts on one pod before giving up on it. */
  readonly attempts?: number;
  /** Where the repairer counts; the agent's, so /metrics serves both. Default: its own. */
  readonly metrics?: AgentMetrics;
}

export type RepairAction = 'deleted' | 'labelled' | 'reported';

/** The server ended the watch with an ERROR event (usually 410: the resourceVersion is too old). */
class WatchExpired extends Error {}

export class Repairer {
  /** CNI-mode pods of this node, by uid. */
  private readonly pods = new Map<string, Pod>();
  /** Uids acted on (or given up): never again. */
  private readonly handled = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly waitingLogged = new Set<string>();
  private readonly deletesByOwner = new Map<string, number[]>();
  readonly metrics: AgentMetrics;
  private readonly abort = new AbortController();
  private tokens: number;
  private lastRefill = Date.now();
  private evaluating: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private synced = false;

  constructor(private readonly options: RepairerOptions) {
    this.tokens = options.burst ?? 5;
    this.metrics = options.metrics ?? createAgentMetrics();
  }

  /** Starts the list + watch loop in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.retryTimer);
    await this.loop;
    await this.evaluating;
  }

  /** True once the first list arrived. */
  get listed(): boolean {
    return this.synced;
  }

  /** The agent's readiness changed: pods waiting for it may be repaired now. */
  readinessChanged(): void {
    void this.evaluate();
  }

  /** Runs one evaluation of every known pod now (or right after the one in progress). */
  evaluate(): Promise<void> {
    if (this.abort.signal.aborted) return Promise.resolve();
    if (this.evaluating !== undefined) {
      this.again = true;
      return this.evaluating;
    }
    // Marked busy before the first pass starts: an action can deliver a watch event synchronously,
    // which must queue another pass, not start a second one beside this.
    let done!: () => void;
    const evaluating = new Promise<void>((resolve) => (done = resolve));
    this.evaluating = evaluating;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.abort.signal.aborted);
      } catch (error) {
        this.options.log(`repair pass failed: ${(error as Error).message}`);
      } finally {
        this.evaluating = undefined;
        done();
      }
    })();
    return evaluating;
  }

  private observe(pod: Pod): void {
    if (inCniMode(pod)) this.pods.set(pod.metadata.uid, pod);
    else this.pods.delete(pod.metadata.uid);
  }

  private forget(uid: string): void {
    this.pods.delete(uid);
    this.handled.delete(uid);
    this.failures.delete(uid);
    this.waitingLogged.delete(uid);
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const first = this.options.retryMs ?? 1000;
    let backoff = first;
    while (!signal.aborted) {
      try {
        const list = await this.options.api.listPods(this.options.nodeName);
        const present = new Set(list.items.map((pod) => pod.metadata.uid));
        for (const uid of new Set([...this.pods.keys(), ...this.handled, ...this.failures.keys()])) if (!present.has(uid)) this.forget(uid);
        for (const pod of list.items) this.observe(pod);
        this.synced = true;
        backoff = first;
        void this.evaluate();
        let resourceVersion = list.resourceVersion;
        const listedAt = Date.now();
        while (!signal.aborted && Date.now() - listedAt < (this.options.resyncMs ?? 300_000)) {
          await this.options.api.watchPods(this.options.nodeName, resourceVersion, (event) => {
            if (event.type === 'ERROR') throw new WatchExpired(`watch: ${event.object.code ?? '?'} ${event.object.message ?? ''}`);
            const pod = event.object;
            if (pod.metadata?.resourceVersion !== undefined) resourceVersion = pod.metadata.resourceVersion;
            if (event.type === 'BOOKMARK') return;
            if (event.type === 'DELETED') this.forget(pod.metadata.uid);
            else {
              this.observe(pod);
              if (this.pods.has(pod.metadata.uid)) void this.evaluate();
            }
          }, signal);
        }
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof WatchExpired) {
          // Usually 410 Gone (the resourceVersion is too old): list again at once.
          this.metrics.podWatchRestarts.inc();
          continue;
        }
        this.metrics.podWatchRestarts.inc();
        this.options.log(`pod watch on node ${this.options.nodeName} failed: ${(error as Error).message}; retrying in ${backoff} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoff);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  private takeToken(): boolean {
    const burst = this.options.burst ?? 5;
    const refill = this.options.refillMs ?? 6000;
    const now = Date.now();
    const earned = Math.floor((now - this.lastRefill) / refill);
    if (earned > 0) {
      this.tokens = Math.min(burst, this.tokens + earned);
      this.lastRefill = this.tokens === burst ? now : this.lastRefill + earned * refill;
    }
    if (this.tokens <= 0) return false;
    this.tokens--;
    return true;
  }

  private retryIn(ms: number): void {
    if (this.retryTimer !== undefined || this.abort.signal.aborted) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.evaluate();
    }, ms);
    this.retryTimer.unref?.();
  }

  private async pass(): Promise<void> {
    for (const pod of [...this.pods.values()]) {
      if (this.abort.signal.aborted) return;
      const { uid, namespace, name } = pod.metadata;
      if (this.handled.has(uid) || pod.metadata.deletionTimestamp !== undefined) continue;
      if (pod.spec?.nodeName !== undefined && pod.spec.nodeName !== this.options.nodeName) continue;
      const failure = captureFailure(pod);
      if (failure === undefined) continue;
      if (this.options.mode === 'label' && pod.metadata.labels?.[captureFailedLabel] === 'true') {
        this.handled.add(uid);
        continue;
      }
      if (!this.options.isReady()) {
        if (!this.waitingLogged.has(uid)) this.options.log(`pod ${namespace}/${name}: ${failure}; repair waits until the plugin is in place on this node`);
        this.waitingLogged.add(uid);
        continue;
      }
      if (!this.takeToken()) {
        this.retryIn(this.options.refillMs ?? 6000);
        return;
      }
      await this.repair(pod, failure);
    }
  }

  private plan(pod: Pod): { action: RepairAction; why: string } {
    if (this.options.mode === 'label') {
      return { action: 'labelled', why: `labelled ${captureFailedLabel}=true (repair mode label): delete the pod to have it recreated with capture` };
    }
    const owner = controllerOf(pod);
    if (owner === undefined) {
      return { action: 'reported', why: 'not deleted: no controller owns it, so nothing would recreate it; delete and create it again yourself' };
    }
    const window = this.options.ownerWindowMs ?? 600_000;
    const recent = (this.deletesByOwner.get(owner.uid) ?? []).filter((at) => Date.now() - at < window);
    this.deletesByOwner.set(owner.uid, recent);
    const limit = this.options.ownerLimit ?? 3;
    if (recent.length >= limit) {
      return {
        action: 'reported',
        why: `not deleted: ${recent.length} pods of ${owner.kind} ${owner.name} were deleted on this node in the last ${Math.round(window / 60_000)} minutes for the same reason, ` +
          'so recreating them does not help; check the pillion-cni-node agent on this node',
      };
    }
    return { action: 'deleted', why: `deleted so that ${owner.kind} ${owner.name} recreates it, captured by the plugin` };
  }

  private async repair(pod: Pod, failure: string): Promise<void> {
    const { uid, namespace, name } = pod.metadata;
    const { action, why } = this.plan(pod);
    const message = `${failure}: the pod's network was set up before the Pillion CNI plugin was in place on node ${this.options.nodeName}; ${why}`;
    try {
      let outcome: 'done' | 'gone' = 'done';
      if (action === 'deleted') outcome = (await this.options.api.deletePod(namespace, name, uid)) === 'gone' ? 'gone' : 'done';
      if (action === 'labelled') outcome = (await this.options.api.labelPod(namespace, name, uid)) === 'gone' ? 'gone' : 'done';
      this.handled.add(uid);
      this.failures.delete(uid);
      if (outcome === 'gone') {
        this.options.log(`pod ${namespace}/${name} (uid ${uid}): already gone`);
        return;
      }
      this.metrics.podRepairs.inc({ action });
      if (action === 'deleted') {
        const owner = controllerOf(pod) as OwnerReference;
        this.deletesByOwner.set(owner.uid, [...(this.deletesByOwner.get(owner.uid) ?? []), Date.now()]);
      }
      this.options.log(`pod ${namespace}/${name}: ${message}`);
    } catch (error) {
      this.metrics.podRepairErrors.inc();
      const attempts = (this.failures.get(uid) ?? 0) + 1;
      this.failures.set(uid, attempts);
      const max = this.options.attempts ?? 5;
      if (attempts >= max) this.handled.add(uid);
      this.options.log(`pod ${namespace}/${name}: ${action === 'deleted' ? 'delete' : action === 'labelled' ? 'label' : 'report'} failed (attempt ${attempts} of ${max}): ${(error as Error).message}`);
      if (attempts < max) this.retryIn(Math.min((this.options.retryMs ?? 1000) * 2 ** attempts, 30_000));
      return;
    }
    try {
      await this.options.api.createEvent(namespace, this.event(pod, message));
    } catch (error) {
      this.options.log(`pod ${namespace}/${name}: the Event could not be recorded: ${(error as Error).message}`);
    }
  }

  private event(pod: Pod, message: string): Record<string, unknown> {
    const now = `${new Date().toISOString().slice(0, 19)}Z`;
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${pod.metadata.name.slice(0, 200)}.`, namespace: pod.metadata.namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: pod.metadata.namespace,
        name: pod.metadata.name,
        uid: pod.metadata.uid,
        fieldPath: `spec.initContainers{${validateContainer}}`,
      },
      reason: eventReason,
      message: message.slice(0, 1024),
      type: 'Warning',
      source: { component: eventComponent, host: this.options.nodeName },
      reportingComponent: `pillion.dev/${eventComponent}`,
      reportingInstance: this.options.nodeName,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
  }
}
