// injectPod(): the single place that decides and performs injection, for the webhook and for
// `pillion inject`. Pure and synchronous: the input pod is never modified; the result is a new
// pod, the RFC 6902 patch from input to result, and warnings. The result pod shares unchanged
// subtrees with the input (treat both as read-only). Cost is linear in the size of what changes;
// template rendering does not depend on the pod and is cached per template set.
import { isDeepStrictEqual } from 'node:util';
import { formatInitArgs, readCaptureDefaults } from './capture.js';
import type { CaptureSettings } from './capture.js';
import { checkDepth, checkPodLists, checkRequestsWithinLimits, checkReservedNames, proxyIdentityWarnings, proxyPortWarnings, regularProxyWarnings, tcpProbeWarnings, usesNativeSidecars } from './checks.js';
import { resolveNativeSidecar } from './config.js';
import { captureContainerName, captureContainerSettings, checkCniCapturable, holdCaptureCheck, toCniMode, validationContainerName, type CaptureRecord, type HoldCaptureCheck } from './cni-mode.js';
import { overlay } from './merge.js';
import { parseOverrides, statusKey } from './overrides.js';
import type { PodOverrides } from './overrides.js';
import { createPatch } from './patch.js';
import { decideInjection } from './policy.js';
import { padPodResources } from './pod-resources.js';
import { cloneJson, deepFreeze, isPlainObject, listOf } from './json.js';
import { formatStatus, readStatus, stripInjection } from './status.js';
import { proxyContainerName, renderTemplate } from './templates.js';
import type { CaptureMode, InjectContext, InjectorSetup, InjectResult, JsonObject, TemplateSet, UninjectResult } from './types.js';
import { InjectionError } from './errors.js';
import { parseCaptureConfig, planCaptureRules, type CaptureConfig, type CapturePlan } from '../../init/index.js';

/** Patch paths never emitted: the API server owns these. */
const untouchable = new Set(['/metadata/managedFields', '/status']);

interface CaptureDefaults {
  readonly settings: CaptureSettings;
  /** The init container's argv for the defaults, formatted once: most pods override nothing. */
  readonly initArgs: readonly string[];
}

const captureDefaultsCache = new WeakMap<TemplateSet, CaptureDefaults>();

function captureDefaults(set: TemplateSet): CaptureDefaults {
  let defaults = captureDefaultsCache.get(set);
  if (defaults === undefined) {
    const settings = readCaptureDefaults(set.values, `${set.dir}/values.yaml`);
    defaults = { settings, initArgs: Object.freeze(formatInitArgs(settings)) };
    captureDefaultsCache.set(set, defaults);
  }
  return defaults;
}

function checkPodShape(pod: unknown): asserts pod is JsonObject & { spec: JsonObject } {
  if (!isPlainObject(pod)) throw new InjectionError('expected a pod object');
  if (pod.metadata !== undefined && !isPlainObject(pod.metadata)) throw new InjectionError('pod metadata must be an object');
  if (!isPlainObject(pod.spec)) throw new InjectionError('pod has no spec');
  if (!Array.isArray(pod.spec.containers)) throw new InjectionError('pod spec has no containers list');
  const metadata = pod.metadata;
  for (const key of ['annotations', 'labels']) {
    const map = metadata?.[key];
    if (map !== undefined && map !== null && !isPlainObject(map)) throw new InjectionError(`pod metadata.${key} must be a map`);
  }
}

function mapOf(owner: JsonObject, key: string): JsonObject {
  const value = owner[key];
  return isPlainObject(value) ? value : {};
}

function namesOf(list: readonly unknown[]): string[] {
  const names: string[] = [];
  for (const item of list) if (isPlainObject(item) && typeof item.name === 'string') names.push(item.name);
  return names;
}

/** A rendered fragment, and in CNI mode the capture record its status carries. */
interface Rendered {
  readonly pod: JsonObject;
  readonly capture: CaptureRecord | undefined;
}

/**
 * Render the chosen templates and layer them: a later template overlays an earlier one. In CNI
 * mode the capture init container then becomes the validation container (cni-mode.ts).
 */
function renderFragment(set: TemplateSet, names: readonly string[], logLevel: string | undefined, initArgs: readonly string[], mode: CaptureMode): Rendered {
  let values = set.values;
  if (logLevel !== undefined) values = { ...values, proxy: { ...mapOf(values, 'proxy'), logLevel } };
  let fragment: JsonObject = {};
  for (const name of names) {
    const template = set.templates.get(name);
    // Pod lists are checked by parseTemplateList, defaultTemplates by loadSetup.
    if (template === undefined) throw new Error(`template "${name}" is not in ${set.dir}`);
    fragment = overlay(fragment, renderTemplate(template, values, initArgs), 'base-first') as JsonObject;
  }
  if (mode === 'init') return { pod: fragment, capture: undefined };
  const cni = toCniMode(fragment, (why) => {
    throw new InjectionError(`captureMode cni, templates ${names.join(',')}: ${why}`);
  });
  return { pod: cni.fragment, capture: cni.capture };
}

// A fragment depends only on the template set and the few inputs below, not on the pod, so the
// webhook renders it once per distinct combination instead of once per pod (rendering is most of
// injectPod's cost). Entries are frozen; everything downstream copies before it writes. The bound
// keeps a stream of pods with ever-different override annotations from growing the cache.
const fragmentCacheLimit = 64;
const fragmentCache = new WeakMap<TemplateSet, Map<string, Rendered>>();

const listTexts = new WeakMap<readonly string[], string>();

/** JSON.stringify(list), computed once per frozen list (the config's, the default capture argv). */
function listText(list: readonly string[]): string {
  if (!Object.isFrozen(list)) return JSON.stringify(list);
  let text = listTexts.get(list);
  if (text === undefined) {
    text = JSON.stringify(list);
    listTexts.set(list, text);
  }
  return text;
}

function cachedFragment(set: TemplateSet, names: readonly string[], logLevel: string | undefined, initArgs: readonly string[], mode: CaptureMode): Rendered {
  let cache = fragmentCache.get(set);
  if (cache === undefined) {
    cache = new Map();
    fragmentCache.set(set, cache);
  }
  // JSON of the inputs is an unambiguous key whatever characters they hold. The lists' texts are
  // kept per list: most pods use the config's default templates and the default capture argv.
  const key = `[${listText(names)},${JSON.stringify(logLevel ?? null)},${listText(initArgs)},${JSON.stringify(mode)}]`;
  let rendered = cache.get(key);
  if (rendered === undefined) {
    rendered = deepFreeze(renderFragment(set, names, logLevel, initArgs, mode));
    if (cache.size >= fragmentCacheLimit) cache.clear();
    cache.set(key, rendered);
  }
  return rendered;
}

interface PlannedCapture {
  readonly config: CaptureConfig;
  readonly plan: CapturePlan;
}

// What pillion-init (init mode) or the CNI plugin will install for a rendered fragment, planned
// once per cached fragment and only when asked for (a pod with a TCP probe, a CNI-mode hold
// check): null when nothing is captured or the settings cannot be read (an init-mode capture
// container with its own command).
const captures = new WeakMap<Rendered, PlannedCapture | null>();

function captureOf(rendered: Rendered): PlannedCapture | undefined {
  let capture = captures.get(rendered);
  if (capture === undefined) {
    const config = readCaptureConfig(rendered);
    capture = config === null ? null : { config, plan: planCaptureRules(config) };
    captures.set(rendered, capture);
  }
  return capture ?? undefined;
}

/** A fragment's proxy container, a regular container or a native sidecar. */
function findProxy(spec: JsonObject): JsonObject | undefined {
  return [...listOf(spec, 'containers'), ...listOf(spec, 'initContainers')].find((c): c is JsonObject => isPlainObject(c) && c.name === proxyContainerName);
}

const listeningPorts = new WeakMap<Rendered, ReadonlyMap<number, string>>();

/**
 * The ports the proxy of a rendering listens on, with what for: the capture's redirect targets and
 * the proxy container's declared ports (readiness, metrics). A loopback-only port a template does
 * not declare (Envoy's admin) is not known here.
 */
function proxyListeningPorts(rendered: Rendered): ReadonlyMap<number, string> {
  let ports = listeningPorts.get(rendered);
  if (ports === undefined) {
    const found = new Map<number, string>();
    const proxy = findProxy(mapOf(rendered.pod, 'spec'));
    for (const port of proxy === undefined ? [] : listOf(proxy, 'ports')) {
      if (isPlainObject(port) && typeof port.containerPort === 'number') found.set(port.containerPort, typeof port.name === 'string' ? `port ${port.name}` : 'a port of its own');
    }
    const config = captureOf(rendered)?.config;
    if (config !== undefined) {
      found.set(config.outboundPort, 'the outbound capture port');
      found.set(config.inboundPort, 'the inbound capture port');
    }
    ports = found;
    listeningPorts.set(rendered, ports);
  }
  return ports;
}

function readCaptureConfig(rendered: Rendered): CaptureConfig | null {
  // CNI mode: the plugin parses the status record's flags with an empty environment.
  if (rendered.capture !== undefined) return parseCaptureConfig(rendered.capture.args, {});
  const container = listOf(mapOf(rendered.pod, 'spec'), 'initContainers').find((c) => isPlainObject(c) && c.name === captureContainerName);
  if (!isPlainObject(container)) return null;
  const unknown = new Error('capture settings unknown');
  try {
    return captureContainerSettings(container, () => {
      throw unknown;
    }).config;
  } catch (error) {
    if (error === unknown) return null;
    throw error;
  }
}

/**
 * Resource and image overrides act on the rendered proxy container, whatever the template.
 * Returns the fragment itself when there is nothing to change, else a changed copy.
 */
function applyProxyOverrides(cached: JsonObject, overrides: PodOverrides, warnings: string[]): JsonObject {
  const wantsResources = Object.keys(overrides.resources.requests).length + Object.keys(overrides.resources.limits).length > 0;
  if (!wantsResources && overrides.proxyImage === undefined) return cached;
  const fragment = cloneJson(cached);
  const proxy = findProxy(mapOf(fragment, 'spec'));
  if (proxy === undefined) {
    warnings.push(`proxy overrides ignored: the selected templates have no ${proxyContainerName} container`);
    return fragment;
  }
  if (overrides.proxyImage !== undefined) proxy.image = overrides.proxyImage;
  if (wantsResources) {
    const layer: JsonObject = {};
    if (Object.keys(overrides.resources.requests).length > 0) layer.requests = overrides.resources.requests;
    if (Object.keys(overrides.resources.limits).length > 0) layer.limits = overrides.resources.limits;
    proxy.resources = overlay(proxy.resources, layer);
    // The API server refuses a request above its limit: say so now, naming the annotation.
    const overridden = new Set([
      ...Object.keys(overrides.resources.requests).map((r) => `requests.${r}`),
      ...Object.keys(overrides.resources.limits).map((r) => `limits.${r}`),
    ]);
    checkRequestsWithinLimits(proxy.resources, overridden, `container ${proxyContainerName}`);
  }
  return fragment;
}

// The hold hook's capture check (CNI mode, the bundled hold command), per cached fragment; null: none.
const holdChecks = new WeakMap<Rendered, HoldCaptureCheck | null>();

function holdCheckOf(rendered: Rendered, set: TemplateSet): HoldCaptureCheck | undefined {
  if (rendered.capture === undefined || !set.holdChecksCapture) return undefined;
  let check = holdChecks.get(rendered);
  if (check === undefined) {
    const capture = captureOf(rendered);
    check = (capture === undefined ? undefined : holdCaptureCheck(capture.config, capture.plan)) ?? null;
    holdChecks.set(rendered, check);
  }
  return check ?? undefined;
}

interface Placement {
  readonly native: boolean;
  readonly hold: boolean;
  readonly holdCommand: readonly string[];
  /** CNI mode: what a native sidecar's hold hook checks instead of the validation container. */
  readonly captureCheck: HoldCaptureCheck | undefined;
}

/**
 * Put the fragment into the pod. Template init containers run first (capture must be in place
 * before anything else in the pod talks; in CNI mode the validation container that checks it takes
 * the capture container's place); a native-sidecar proxy follows them so user init containers
 * already have a proxy. A regular proxy goes after the user's containers, or first
 * when the application must wait for it (the kubelet starts containers in order and runs a
 * postStart hook to completion before starting the next one).
 */
function assembleSpec(userSpec: JsonObject, fragmentSpec: JsonObject, placement: Placement) {
  const templateInit = listOf(fragmentSpec, 'initContainers') as JsonObject[];
  const templateContainers = listOf(fragmentSpec, 'containers') as JsonObject[];
  const userInit = listOf(userSpec, 'initContainers');
  const userContainers = listOf(userSpec, 'containers');
  // No user container has a template container's name (checkReservedNames refused the pod), so the
  // (frozen, cached) template containers go into the pod as they are: nothing downstream writes
  // to them, and the answer's serialiser reuses their JSON text (see json-text.ts).
  let init: JsonObject[] = [...templateInit];
  let containers = [...templateContainers];
  const proxy = containers.find((c) => c.name === proxyContainerName);
  // A native sidecar holds the containers after it until it is started. Unless its template says
  // what started means with a startup probe, that is the hold hook: the kubelet starts the next
  // container as soon as a sidecar's postStart returns, where a startup probe's success counts
  // only on the probe's next whole-second tick (counted from the pod's admission).
  if (proxy !== undefined && placement.native) {
    containers = containers.filter((c) => c !== proxy);
    let held = proxy;
    if (proxy.startupProbe === undefined) {
      // In CNI mode our hook also proves the capture is in place, and the kubelet starts nothing
      // after a native sidecar whose postStart failed: the validation container is redundant, and
      // dropping it saves the pod an init container (and the kubelet's relist after it).
      const check = hasOwnPostStart(proxy) ? undefined : placement.captureCheck;
      if (check !== undefined) init = init.filter((c) => c.name !== validationContainerName);
      held = heldProxy(proxy, placement.holdCommand, check);
    }
    init.push({ ...held, restartPolicy: 'Always' });
  }
  let finalContainers: unknown[] = [...userContainers, ...containers];
  if (proxy !== undefined && !placement.native && placement.hold) {
    // No capture check here: the kubelet starts a regular container's successors even when its
    // postStart failed, so only the validation init container can hold the app back.
    finalContainers = [heldProxy(proxy, placement.holdCommand, undefined), ...userContainers, ...containers.filter((c) => c !== proxy)];
  }
  // A spread copies the user's fields in their order without a per-key store (and defines keys,
  // so not even a "__proto__" key could reach the prototype).
  const spec: JsonObject = { ...userSpec };
  // Other spec fields a template sets (rare): overlaid under the user's.
  for (const key of Object.keys(fragmentSpec)) {
    if (key === 'containers' || key === 'initContainers' || key === 'volumes') continue;
    spec[key] = overlay(fragmentSpec[key], userSpec[key]);
  }
  const finalInit = [...init, ...userInit];
  if (finalInit.length > 0) spec.initContainers = finalInit;
  spec.containers = finalContainers;
  const templateVolumes = listOf(fragmentSpec, 'volumes') as (JsonObject & { name: string })[];
  if (templateVolumes.length > 0) {
    const userVolumes = listOf(userSpec, 'volumes');
    spec.volumes = [...userVolumes, ...templateVolumes];
  }
  return {
    spec,
    containers: namesOf(containers.filter((c) => placement.native ? c !== proxy : true)),
    initContainers: namesOf(init),
    volumes: namesOf(templateVolumes),
  };
}

function hasOwnPostStart(proxy: JsonObject): boolean {
  return mapOf(proxy, 'lifecycle').postStart !== undefined;
}

/** The pod's addresses for the hook's capture check: the downward API's status.podIPs, comma-separated. */
const podIpsEnv = 'PILLION_POD_IPS';
/** Where a failed check's message goes: the kubelet reports the file as the killed container's message. */
const defaultTerminationMessagePath = '/dev/termination-log';

/**
 * The proxy with the hold hook as its postStart, unless its template gives one of its own. With a
 * capture check the hook gets its arguments after the command's own (port, families, where to
 * write the message) and the proxy the pod's addresses (downward API), for hold.command to probe.
 */
function heldProxy(proxy: JsonObject, holdCommand: readonly string[], check: HoldCaptureCheck | undefined): JsonObject {
  if (hasOwnPostStart(proxy)) return proxy;
  const lifecycle = mapOf(proxy, 'lifecycle');
  if (check === undefined) return { ...proxy, lifecycle: { ...lifecycle, postStart: { exec: { command: [...holdCommand] } } } };
  // The API server defaults an empty path too.
  const messagePath = typeof proxy.terminationMessagePath === 'string' && proxy.terminationMessagePath !== '' ? proxy.terminationMessagePath : defaultTerminationMessagePath;
  const command = [...holdCommand, String(check.port), check.families.join(','), messagePath];
  const env = listOf(proxy, 'env');
  const hasIps = env.some((e) => isPlainObject(e) && e.name === podIpsEnv);
  return {
    ...proxy,
    env: hasIps ? env : [...env, { name: podIpsEnv, valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } }],
    lifecycle: { ...lifecycle, postStart: { exec: { command } } },
  };
}

/** Layer template metadata (annotations, labels) under the user's; report which keys were added. */
function assembleMap(user: JsonObject, template: JsonObject): { map: JsonObject; added: string[] } {
  const added = Object.keys(template).filter((key) => !Object.hasOwn(user, key));
  // Nothing added: the user's own map, shared, so the diff skips it by identity.
  if (added.length === 0) return { map: user, added };
  const map: JsonObject = { ...user };
  for (const key of added) map[key] = template[key];
  return { map, added };
}

/** The API server's bound on a pod's annotations, keys and values together (ValidateAnnotationsSize). */
export const totalAnnotationBytes = 256 * 1024;

/** Refuse a pod whose annotations would grow past what the API server accepts. */
function checkAnnotationsSize(annotations: JsonObject): void {
  // A UTF-16 unit is at most 3 bytes of UTF-8: counting units settles almost every pod.
  let units = 0;
  for (const key of Object.keys(annotations)) {
    const value = annotations[key];
    units += key.length + (typeof value === 'string' ? value.length : 0);
  }
  if (units * 3 <= totalAnnotationBytes) return;
  let total = 0;
  for (const [key, value] of Object.entries(annotations)) total += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  if (total > totalAnnotationBytes) {
    throw new InjectionError(`metadata.annotations would total ${total} bytes with Pillion's, more than the ${totalAnnotationBytes} the API server accepts; make room (a large kubectl.kubernetes.io/last-applied-configuration is the usual cause) or opt the pod out`);
  }
}

const prometheusPrefix = 'prometheus.io/';

/**
 * prometheus.io/scrape, port and path describe one scrape target together: mixing the app's with
 * the proxy's sends a scraper to the app's port at the proxy's path. When the pod has any of them,
 * the app owns scraping and the template's are all left out (with a warning); else all are added.
 */
function templateAnnotations(user: JsonObject, template: JsonObject, warnings: string[]): JsonObject {
  const own = Object.keys(user).filter((key) => key.startsWith(prometheusPrefix));
  const ours = Object.keys(template).filter((key) => key.startsWith(prometheusPrefix));
  if (own.length === 0 || ours.length === 0) return template;
  warnings.push(`the pod has its own ${own.sort().join(', ')}, so the proxy's prometheus.io/ annotations are not added: scrapers keep scraping the app`);
  const kept: JsonObject = {};
  for (const [key, value] of Object.entries(template)) if (!key.startsWith(prometheusPrefix)) kept[key] = value;
  return kept;
}

/**
 * Decide and perform injection of one pod. Throws InjectionError for an invalid pod or override
 * annotation (nothing is returned half-done); returns `skipped` with a reason otherwise not injected.
 */
export function injectPod(pod: JsonObject, ctx: InjectContext, setup: InjectorSetup): InjectResult {
  checkDepth(pod);
  checkPodShape(pod);
  const { config, templates } = setup;
  const warnings: string[] = [];
  const metadata = mapOf(pod, 'metadata');
  const namespace = ctx.namespace ?? (typeof metadata.namespace === 'string' ? metadata.namespace : undefined);
  const decision = decideInjection(pod, namespace, ctx, config);
  if (!decision.inject) {
    // The webhook shows only warnings to the user: a skip the user would not expect says why there.
    if (decision.reason === 'other-mesh' || decision.reason === 'windows-pod') warnings.push(`not injected: ${decision.detail}`);
    return { kind: 'skipped', reason: decision.reason, detail: decision.detail, warnings };
  }
  checkPodLists(pod.spec);

  const overrides = parseOverrides(mapOf(metadata, 'annotations'), templates, config.allowImageOverride, warnings);
  const templateNames = overrides.templates ?? config.defaultTemplates;
  const defaults = captureDefaults(templates);
  const initArgs = Object.keys(overrides.capture).length === 0 ? defaults.initArgs : formatInitArgs({ ...defaults.settings, ...overrides.capture });
  const rendered = cachedFragment(templates, templateNames, overrides.logLevel, initArgs, config.captureMode);
  if (rendered.capture !== undefined) checkCniCapturable(pod.spec);
  const fragment = applyProxyOverrides(rendered.pod, overrides, warnings);

  // Nothing below writes to the input: new objects are built along the changed paths and unchanged
  // subtrees are shared with it, which also lets the diff skip them by identity.
  // A pod that shows native sidecars (its own, or the input's) proves the cluster supports them.
  const nativeSeen = ctx.nativeSidecarsInUse === true || usesNativeSidecars(pod.spec);
  const previous = decision.previous;
  const base: JsonObject = previous === undefined ? pod : stripInjection(pod, previous);
  const fragmentSpec = mapOf(fragment, 'spec');
  checkReservedNames(base.spec as JsonObject, fragmentSpec);
  const native = overrides.nativeSidecar ?? resolveNativeSidecar(config, nativeSeen);
  const placed = assembleSpec(base.spec as JsonObject, fragmentSpec, {
    native,
    hold: config.holdApplicationUntilProxyStarts,
    holdCommand: templates.holdCommand,
    captureCheck: holdCheckOf(rendered, templates),
  });
  if (!native && placed.containers.includes(proxyContainerName)) {
    warnings.push(...regularProxyWarnings(base.spec as JsonObject, mapOf(templates.values, 'proxy').uid));
  }
  warnings.push(...tcpProbeWarnings(base.spec as JsonObject, () => captureOf(rendered)?.plan));
  warnings.push(...proxyIdentityWarnings(base.spec as JsonObject, captureOf(rendered)?.config));
  warnings.push(...proxyPortWarnings(base.spec as JsonObject, proxyListeningPorts(rendered)));
  const padded = padPodResources(base.spec as JsonObject, placed.spec, placed.containers);
  const baseMetadata = mapOf(base, 'metadata');
  const fragmentMetadata = mapOf(fragment, 'metadata');
  const userAnnotations = mapOf(baseMetadata, 'annotations');
  const annotations = assembleMap(userAnnotations, templateAnnotations(userAnnotations, mapOf(fragmentMetadata, 'annotations'), warnings));
  const labels = assembleMap(mapOf(baseMetadata, 'labels'), mapOf(fragmentMetadata, 'labels'));
  const status = formatStatus({
    version: templates.version,
    templates: [...templateNames],
    containers: placed.containers,
    initContainers: placed.initContainers,
    volumes: placed.volumes,
    annotations: annotations.added,
    labels: labels.added,
    podResources: padded?.record,
    capture: rendered.capture,
  });
  // A computed key in an object literal takes V8's slow runtime path; a store after the spread does not.
  const newAnnotations: JsonObject = { ...annotations.map };
  newAnnotations[statusKey] = status;
  checkAnnotationsSize(newAnnotations);
  const newMetadata: JsonObject = { ...baseMetadata, annotations: newAnnotations };
  if (labels.added.length > 0) newMetadata.labels = labels.map;
  const result: JsonObject = { ...base, metadata: newMetadata, spec: padded?.spec ?? placed.spec };
  if (previous !== undefined) {
    // Injected before: stripped and rendered again. Nothing changed → already injected; else the
    // pod's annotations or the templates changed since, and the new rendering replaces the old.
    if (isDeepStrictEqual(result, pod)) {
      return { kind: 'skipped', reason: 'already-injected', detail: `already injected with template version ${templates.version} (${previous.templates.join(',')})`, warnings };
    }
    warnings.push(
      previous.version === templates.version
        ? 're-injecting: the pod changed since it was injected (its pillion.dev/ annotations or the injector configuration)'
        : `re-injecting: pod was injected with template version ${previous.version}, now ${templates.version}`,
    );
  }
  return {
    kind: 'injected',
    pod: result,
    patch: createPatch(pod, result, untouchable),
    templates: [...templateNames],
    warnings,
  };
}


/**
 * Remove what Pillion added, as the pod's pillion.dev/status annotation lists it, and nothing
 * else (`pillion uninject`). A pod without the annotation is skipped as `not-injected`.
 */
export function uninjectPod(pod: JsonObject): UninjectResult {
  checkDepth(pod);
  checkPodShape(pod);
  const status = readStatus(mapOf(mapOf(pod, 'metadata'), 'annotations'));
  if (status === undefined) {
    return { kind: 'skipped', reason: 'not-injected', detail: `pod has no ${statusKey} annotation, so Pillion did not inject it`, warnings: [] };
  }
  const result = stripInjection(pod, status);
  return { kind: 'uninjected', pod: result, patch: createPatch(pod, result, untouchable), templates: [...status.templates], warnings: [] };
}
