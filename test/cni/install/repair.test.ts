// The repair of pods that started before the plugin was in place, against a FAKE API (an
// in-memory stand-in for the list, watch, delete, patch and event calls; the same flow against
// the real kube-apiserver is e2e/cni/repair-apiserver.test.ts). What is checked: which pods
// count as failed (pillion-validation exited 126, now or the time before, in CNI mode), nothing
// happens before the agent is ready, one action per uid, delete vs label vs report, the loop
// guard per controller, the rate limit, retries, and a watch that expires or breaks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  captureFailedLabel,
  captureFailure,
  captureMissingExitCode,
  captureMissingMessage,
  controllerOf,
  eventReason,
  inCniMode,
  proxyContainer,
  Repairer,
  type Pod,
  type PodRepairApi,
  type RepairerOptions,
  validateContainer,
  type WatchEvent,
} from '../../../cni/install/repair.js';
import { validationContainerName } from '../../../injector/core/cni-mode.js';
import { proxyContainerName } from '../../../injector/core/templates.js';
import { bundledTemplates } from '../../injector/core/fixture-support.js';
import { exitCodes } from '../../../init/cli/main.js';
import { waitFor } from './support.js';

const node = 'node-a';
const cniStatus = JSON.stringify({ version: '0.1.0', templates: ['envoy'], capture: { mode: 'cni', args: ['--proxy-uid=1337'] } });

let serial = 0;
function pod(options: {
  name?: string;
  status?: string | undefined;
  exit?: number;
  lastExit?: number;
  container?: string;
  owner?: { kind: string; name: string; uid: string } | undefined;
  nodeName?: string;
  labels?: Record<string, string>;
  message?: string;
} = {}): Pod {
  serial++;
  const name = options.name ?? `app-${serial}`;
  const terminated = (exitCode: number | undefined) => (exitCode === undefined ? undefined : { terminated: { exitCode, ...(options.message === undefined ? {} : { message: options.message }) } });
  const owner = 'owner' in options ? options.owner : { kind: 'ReplicaSet', name: 'app-7d9f', uid: 'rs-1' };
  return {
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      annotations: options.status === undefined && 'status' in options ? {} : { 'pillion.dev/status': options.status ?? cniStatus },
      ...(options.labels === undefined ? {} : { labels: options.labels }),
      ...(owner === undefined ? {} : { ownerReferences: [{ apiVersion: 'apps/v1', ...owner, controller: true }] }),
    },
    spec: { nodeName: options.nodeName ?? node },
    status: {
      initContainerStatuses: [
        {
          name: options.container ?? 'pillion-validation',
          ...(terminated(options.exit) === undefined ? {} : { state: terminated(options.exit) }),
          ...(terminated(options.lastExit) === undefined ? {} : { lastState: terminated(options.lastExit) }),
        },
      ],
    },
  };
}

/** In-memory pods of the node, with the calls the repairer made. */
class FakeApi implements PodRepairApi {
  readonly pods = new Map<string, Pod>();
  readonly deletes: string[] = [];
  readonly labels: string[] = [];
  readonly events: Record<string, unknown>[] = [];
  lists = 0;
  watches = 0;
  deleteFailures = 0;
  deleteAnswer: 'deleted' | 'gone' = 'deleted';
  watchFailure: Error | undefined;
  private rv = 1;
  private listener: ((event: WatchEvent) => void) | undefined;
  private endWatch: ((error?: Error) => void) | undefined;

  add(p: Pod): void {
    this.pods.set(p.metadata.uid, p);
    this.emit({ type: 'ADDED', object: p });
  }

  update(p: Pod): void {
    this.pods.set(p.metadata.uid, p);
    this.emit({ type: 'MODIFIED', object: p });
  }

  emit(event: WatchEvent): void {
    if (this.listener === undefined) return;
    try {
      this.listener(event.type === 'ERROR' ? event : { ...event, object: { ...event.object, metadata: { ...event.object.metadata, resourceVersion: String(++this.rv) } } });
    } catch (error) {
      this.endWatch?.(error as Error);
    }
  }

  /** The server ends the stream (its timeoutSeconds); the repairer watches again. */
  expire(): void {
    this.endWatch?.();
  }

  listPods(nodeName: string): Promise<{ items: Pod[]; resourceVersion: string }> {
    this.lists++;
    return Promise.resolve({ items: [...this.pods.values()].filter((p) => p.spec?.nodeName === nodeName), resourceVersion: String(this.rv) });
  }

  watchPods(_nodeName: string, _rv: string, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    this.watches++;
    if (this.watchFailure !== undefined) {
      const failure = this.watchFailure;
      this.watchFailure = undefined;
      return Promise.reject(failure);
    }
    return new Promise((resolve, reject) => {
      this.listener = onEvent;
      this.endWatch = (error) => {
        this.listener = undefined;
        this.endWatch = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
      signal.addEventListener('abort', () => this.endWatch?.(new Error('stopped')), { once: true });
    });
  }

  deletePod(namespace: string, name: string, uid: string): Promise<'deleted' | 'gone'> {
    if (this.deleteFailures > 0) {
      this.deleteFailures--;
      return Promise.reject(new Error('503 etcd is sulking'));
    }
    this.deletes.push(`${namespace}/${name}/${uid}`);
    const current = this.pods.get(uid);
    if (current !== undefined && this.deleteAnswer === 'deleted') this.update({ ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } });
    return Promise.resolve(this.deleteAnswer);
  }

  labelPod(namespace: string, name: string, uid: string): Promise<'labelled' | 'gone'> {
    this.labels.push(`${namespace}/${name}/${uid}`);
    const current = this.pods.get(uid);
    if (current !== undefined) this.update({ ...current, metadata: { ...current.metadata, labels: { ...current.metadata.labels, [captureFailedLabel]: 'true' } } });
    return Promise.resolve('labelled');
  }

  createEvent(namespace: string, event: Record<string, unknown>): Promise<void> {
    this.events.push({ namespace, ...event });
    return Promise.resolve();
  }
}

async function withRepairer(
  options: Partial<RepairerOptions> & { ready?: boolean },
  body: (ctx: { api: FakeApi; repairer: Repairer; logs: string[]; setReady: (ready: boolean) => void }) => Promise<void>,
  seed: readonly Pod[] = [],
): Promise<void> {
  const api = new FakeApi();
  for (const p of seed) api.pods.set(p.metadata.uid, p);
  let ready = options.ready ?? true;
  const logs: string[] = [];
  const repairer = new Repairer({ mode: 'delete', nodeName: node, api, isReady: () => ready, log: (line) => logs.push(line), retryMs: 20, ...options });
  repairer.start();
  try {
    await waitFor('repairer.listed && api.watches > 0', () => repairer.listed && api.watches > 0, 2000);
    await body({
      api,
      repairer,
      logs,
      setReady: (value: boolean) => {
        ready = value;
        repairer.readinessChanged();
      },
    });
  } finally {
    await repairer.stop();
  }
}

const settle = async (repairer: Repairer): Promise<void> => {
  await new Promise((r) => setTimeout(r, 20));
  await repairer.evaluate();
};

describe('which pods need repair (pure)', () => {
  test("the container and exit code are the injector's and pillion-init's", () => {
    assert.equal(validateContainer, validationContainerName);
    assert.equal(captureMissingExitCode, exitCodes.verifyFailed);
    assert.equal(proxyContainer, proxyContainerName);
    assert.ok(bundledTemplates().holdCommand.some((part) => part.includes(`m="${captureMissingMessage}: `)), 'the bundled hold hook writes the message the agent looks for');
  });

  test("CNI mode and the proxy's termination message from a failed capture check, in state or lastState", () => {
    const said = `${captureMissingMessage}: IPv4: the proxy's connection to its pod's address 10.1.0.7 port 18080 was not redirected to it`;
    assert.equal(captureFailure(pod({ container: 'pillion-proxy', lastExit: 137, message: said })),
      "pillion-proxy's hold hook found traffic capture missing: IPv4: the proxy's connection to its pod's address 10.1.0.7 port 18080 was not redirected to it");
    assert.ok(captureFailure(pod({ container: 'pillion-proxy', exit: 0, message: `\n${said}\n` })) !== undefined, 'the state now counts too');
    for (const [what, p] of [
      ['another message', pod({ container: 'pillion-proxy', exit: 137, message: 'killed' })],
      ['no message', pod({ container: 'pillion-proxy', exit: 1 })],
      ['another container', pod({ container: 'app', exit: 1, message: said })],
      ['init mode', pod({ container: 'pillion-proxy', exit: 1, message: said, status: JSON.stringify({ capture: { mode: 'init' } }) })],
    ] as const) {
      assert.equal(captureFailure(p), undefined, what);
    }
  });

  test('CNI mode and pillion-validation terminated with 126, in state or lastState', () => {
    assert.match(captureFailure(pod({ exit: 126, message: 'IPv6: outbound not redirected' })) ?? '', /pillion-validation exited 126 \(traffic capture missing: IPv6: outbound not redirected\)/);
    assert.ok(captureFailure(pod({ lastExit: 126 })) !== undefined, 'a restarting init container: the time before counts');
    for (const [what, p] of [
      ['exit 1', pod({ exit: 1 })],
      ['running', pod({})],
      ['another init container', pod({ exit: 126, container: 'pillion-init' })],
      ['init mode', pod({ exit: 126, status: JSON.stringify({ capture: { mode: 'init' } }) })],
      ['no capture record', pod({ exit: 126, status: JSON.stringify({ version: '1' }) })],
      ['no annotation', pod({ exit: 126, status: undefined })],
      ['malformed annotation', pod({ exit: 126, status: '{nope' })],
    ] as const) {
      assert.equal(captureFailure(p), undefined, what);
    }
    assert.equal(inCniMode(pod({ status: 'null' })), false);
  });

  test('the controller: a controller ownerReference, never a Node (mirror pod)', () => {
    assert.equal(controllerOf(pod())?.kind, 'ReplicaSet');
    assert.equal(controllerOf(pod({ owner: undefined })), undefined);
    assert.equal(controllerOf(pod({ owner: { kind: 'Node', name: node, uid: 'n1' } })), undefined);
  });
});

describe('repairer against a fake API', () => {
  test('fake API: waits until the agent is ready, then deletes the pod once and records a Warning Event', () =>
    withRepairer({ ready: false }, async ({ api, repairer, logs, setReady }) => {
      const failed = pod({ exit: 126, message: 'IPv4: inbound not redirected' });
      api.add(failed);
      await settle(repairer);
      assert.deepEqual(api.deletes, [], 'nothing happens while the plugin is not in place');
      assert.ok(logs.some((l) => /repair waits until the plugin is in place/.test(l)));
      setReady(true);
      await waitFor('api.events.length === 1', () => api.events.length === 1, 2000);
      assert.deepEqual(api.deletes, [`shop/${failed.metadata.name}/${failed.metadata.uid}`]);
      const event = api.events[0] as { namespace: string; type: string; reason: string; message: string; involvedObject: Record<string, string>; source: { host: string } };
      assert.equal(event.namespace, 'shop');
      assert.equal(event.type, 'Warning');
      assert.equal(event.reason, eventReason);
      assert.deepEqual(event.involvedObject, { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: failed.metadata.name, uid: failed.metadata.uid, fieldPath: 'spec.initContainers{pillion-validation}' });
      assert.equal(event.source.host, node);
      assert.match(event.message, /IPv4: inbound not redirected.*before the Pillion CNI plugin was in place on node node-a; deleted so that ReplicaSet app-7d9f recreates it/);
      // More updates of the same pod, a relist: still one delete.
      api.update({ ...failed, metadata: { ...failed.metadata, resourceVersion: '99' } });
      api.expire();
      await waitFor('api.watches >= 2', () => api.watches >= 2, 2000);
      await settle(repairer);
      assert.equal(api.deletes.length, 1);
      assert.match(await repairer.metrics.registry.metrics(), /pillion_cni_install_pod_repairs_total\{action="deleted"\} 1/);
    }));

  test('fake API: pods that are fine, in init mode, on another node or already terminating are left alone', () =>
    withRepairer({}, async ({ api, repairer }) => {
      api.add(pod({ exit: 0 }));
      api.add(pod({ exit: 126, status: JSON.stringify({ capture: { mode: 'init' } }) }));
      api.add(pod({ exit: 1 }));
      const terminating = pod({ exit: 126 });
      api.add({ ...terminating, metadata: { ...terminating.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } });
      await settle(repairer);
      assert.deepEqual([api.deletes, api.labels, api.events], [[], [], []]);
    }));

  test('fake API: pods present before the agent started are repaired from the first list', () =>
    withRepairer({}, async ({ api }) => {
      await waitFor('api.deletes.length === 1', () => api.deletes.length === 1, 2000);
    }, [pod({ lastExit: 126 })]));

  test('fake API: --repair label labels pillion.dev/capture-failed=true and never deletes; a labelled pod is skipped', () =>
    withRepairer({ mode: 'label' }, async ({ api, repairer }) => {
      api.add(pod({ exit: 126 }));
      api.add(pod({ exit: 126, labels: { [captureFailedLabel]: 'true' } }));
      await waitFor('api.events.length === 1', () => api.events.length === 1, 2000);
      await settle(repairer);
      assert.equal(api.labels.length, 1);
      assert.deepEqual(api.deletes, []);
      assert.match(String(api.events[0]?.message), /labelled pillion\.dev\/capture-failed=true \(repair mode label\)/);
    }));

  test('fake API: a pod without a controller (or a mirror pod) is not deleted, only reported', () =>
    withRepairer({}, async ({ api, repairer }) => {
      api.add(pod({ exit: 126, owner: undefined }));
      api.add(pod({ exit: 126, owner: { kind: 'Node', name: node, uid: 'n1' } }));
      await waitFor('api.events.length === 2', () => api.events.length === 2, 2000);
      await settle(repairer);
      assert.deepEqual(api.deletes, []);
      for (const event of api.events) assert.match(String(event.message), /not deleted: no controller owns it/);
      assert.match(await repairer.metrics.registry.metrics(), /action="reported"\} 2/);
    }));

  test('fake API: loop guard — after 3 deletions of one controller\'s pods, the next is only reported', () =>
    withRepairer({ burst: 10 }, async ({ api, repairer }) => {
      for (let i = 0; i < 4; i++) api.add(pod({ exit: 126 }));
      await waitFor('api.events.length === 4', () => api.events.length === 4, 2000);
      await settle(repairer);
      assert.equal(api.deletes.length, 3);
      assert.match(String(api.events[3]?.message), /not deleted: 3 pods of ReplicaSet app-7d9f were deleted on this node in the last 10 minutes/);
    }));

  test('fake API: rate limit — a burst, then one action per refill interval', () =>
    withRepairer({ burst: 2, refillMs: 150 }, async ({ api, repairer }) => {
      for (let i = 0; i < 5; i++) api.add(pod({ exit: 126, owner: { kind: 'ReplicaSet', name: `rs-${i}`, uid: `rs-${i}` } }));
      await settle(repairer);
      assert.equal(api.deletes.length, 2, 'the burst');
      const started = Date.now();
      await waitFor('api.deletes.length === 5', () => api.deletes.length === 5, 3000);
      assert.ok(Date.now() - started >= 300, `the other three waited for tokens (${Date.now() - started} ms)`);
    }));

  test('fake API: a failed delete is retried, and given up after the attempts; a pod already gone gets no Event', async () => {
    await withRepairer({ attempts: 3 }, async ({ api }) => {
      api.deleteFailures = 1;
      api.add(pod({ exit: 126 }));
      await waitFor('api.deletes.length === 1 && api.events.length === 1', () => api.deletes.length === 1 && api.events.length === 1, 3000);
    });
    await withRepairer({ attempts: 2 }, async ({ api, repairer, logs }) => {
      api.deleteFailures = 10;
      api.add(pod({ exit: 126 }));
      await waitFor('the second failed attempt', () => logs.some((l) => /attempt 2 of 2/.test(l)), 3000);
      await new Promise((r) => setTimeout(r, 200));
      await settle(repairer);
      assert.equal(api.deleteFailures, 8, 'two attempts, then no more');
      assert.deepEqual(api.events, []);
    });
    await withRepairer({}, async ({ api, repairer }) => {
      api.deleteAnswer = 'gone';
      api.add(pod({ exit: 126 }));
      await waitFor('api.deletes.length === 1', () => api.deletes.length === 1, 2000);
      await settle(repairer);
      assert.deepEqual(api.events, []);
    });
  });

  test('fake API: a watch ERROR (410 Gone) relists at once; a broken watch is retried', () =>
    withRepairer({}, async ({ api, logs }) => {
      const lists = api.lists;
      api.emit({ type: 'ERROR', object: { code: 410, message: 'too old resource version' } });
      await waitFor('api.lists === lists + 1 && api.watches >= 2', () => api.lists === lists + 1 && api.watches >= 2, 2000);
      api.watchFailure = new Error('connection reset');
      api.expire();
      await waitFor('api.lists >= lists + 2', () => api.lists >= lists + 2, 2000);
      assert.ok(logs.some((l) => /pod watch on node node-a failed: connection reset; retrying/.test(l)));
      // Still working after both.
      api.add(pod({ exit: 126 }));
      await waitFor('api.deletes.length === 1', () => api.deletes.length === 1, 2000);
    }));
});
