// Whether a pod is injected at all. Order matters and is documented in docs/injection.md:
// namespaces that are never injected come first (a system pod is never rejected for a bad
// annotation), then the pod's own opt-in value (validated), opt-out, hostNetwork, Windows, an existing
// injection by the same template version, and finally the policy.
import { findOtherMesh } from './checks.js';
import { injectKey } from './overrides.js';
import { isPlainObject } from './json.js';
import { readStatus } from './status.js';
import type { InjectionStatus } from './status.js';
import type { InjectContext, InjectorConfig, JsonObject, SkipReason } from './types.js';
import { InjectionError } from './errors.js';

export const systemNamespaces: readonly string[] = Object.freeze(['kube-system', 'kube-public', 'kube-node-lease']);

export type Decision =
  | { readonly inject: true; readonly previous: InjectionStatus | undefined }
  | { readonly inject: false; readonly reason: SkipReason; readonly detail: string };

/**
 * The pod's own choice. An annotation's value is read leniently (any case, spaces around). A
 * label's must be exact: the webhook configuration routes label opt-ins (`enabled`, `true`) to its
 * fail-closed webhook by selector, and a selector matches values exactly. A label `Enabled`
 * taken as an opt-in would reach only the fail-open catch-all, so the pod would be created
 * without its proxy whenever the injector is unreachable; refusing it says so while it can.
 */
function readInjectValue(source: Readonly<Record<string, unknown>> | undefined, what: 'label' | 'annotation'): 'enabled' | 'disabled' | undefined {
  if (source === undefined || !Object.hasOwn(source, injectKey)) return undefined;
  const value = source[injectKey];
  const lenient = typeof value === 'string' ? choiceOf(value.trim().toLowerCase()) : undefined;
  const choice = what === 'label' ? choiceOf(value) : lenient;
  if (choice !== undefined) return choice;
  const exact = lenient !== undefined
    ? `; a label's value must be written exactly so (lowercase): the webhook configuration matches it exactly, and would admit this pod without its proxy whenever the injector is unreachable`
    : '';
  throw new InjectionError(`${what} ${injectKey}: ${JSON.stringify(value)} is not enabled, disabled, true or false${exact}`, injectKey);
}

function choiceOf(text: unknown): 'enabled' | 'disabled' | undefined {
  if (text === 'enabled' || text === 'true') return 'enabled';
  if (text === 'disabled' || text === 'false') return 'disabled';
  return undefined;
}

function stringMap(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return isPlainObject(value) ? value : undefined;
}

export function decideInjection(
  pod: JsonObject,
  namespace: string | undefined,
  ctx: InjectContext,
  config: InjectorConfig,
): Decision {
  const metadata = stringMap(pod.metadata) ?? {};
  const spec = stringMap(pod.spec) ?? {};
  if (namespace !== undefined && systemNamespaces.includes(namespace)) {
    return { inject: false, reason: 'system-namespace', detail: `namespace ${namespace} is never injected` };
  }
  if (namespace !== undefined && namespace === config.injectorNamespace) {
    return { inject: false, reason: 'injector-namespace', detail: `namespace ${namespace} runs the injector and is never injected` };
  }
  // Label wins over annotation: labels are what selectors (and the webhook's objectSelector) see.
  const fromLabel = readInjectValue(stringMap(metadata.labels), 'label');
  const fromAnnotation = readInjectValue(stringMap(metadata.annotations), 'annotation');
  const podChoice = fromLabel ?? fromAnnotation;
  const via = fromLabel !== undefined ? 'label' : 'annotation';
  if (podChoice === 'disabled') {
    return { inject: false, reason: 'opted-out', detail: `${via} ${injectKey}=disabled` };
  }
  if (spec.hostNetwork === true) {
    return { inject: false, reason: 'host-network', detail: 'pod uses hostNetwork; capturing would redirect the node\'s traffic' };
  }
  // A Windows pod can run neither iptables capture nor a Linux proxy, and the API server refuses
  // the Linux-only securityContext fields (runAsUser, capabilities, seccompProfile, ...) that the
  // injected containers carry in a pod with spec.os.name windows: injecting would make a pod that
  // can run into one that cannot be created.
  const windows = windowsSign(spec);
  if (windows !== undefined) {
    return { inject: false, reason: 'windows-pod', detail: `pod runs on Windows (${windows}); capture and the proxy are Linux-only` };
  }
  // Another mesh's proxy already holds the pod's traffic capture, proxy uid and ports: a second
  // proxy would fight it. Skipped (not refused), so the pod still runs under the mesh it has.
  const other = findOtherMesh(pod);
  if (other !== undefined) {
    return {
      inject: false,
      reason: 'other-mesh',
      detail: `the pod already has ${other.mesh}'s proxy (${other.sign}); two proxies would fight over traffic capture and ports`,
    };
  }
  // Injected before: injectPod strips that injection and renders again; an unchanged result is
  // `already-injected`, a changed one (edited annotations, new templates) replaces the old.
  const previous = readStatus(stringMap(metadata.annotations) ?? {});
  if (ctx.mode === 'candidate' || podChoice === 'enabled') return { inject: true, previous };
  const nsValue = ctx.namespaceLabels?.[injectKey];
  if (nsValue === 'enabled') return { inject: true, previous };
  if (nsValue === 'disabled') {
    return { inject: false, reason: 'not-opted-in', detail: `namespace ${namespace ?? '(unknown)'} has label ${injectKey}=disabled and the pod does not opt in` };
  }
  if (config.defaultPolicy === 'enabled') return { inject: true, previous };
  return { inject: false, reason: 'not-opted-in', detail: `pod does not opt in (${injectKey}) and neither does its namespace; default policy is disabled` };
}

const osLabel = 'kubernetes.io/os';

/**
 * What says the pod runs on Windows, if anything: spec.os.name, or a scheduling constraint that
 * admits only Windows nodes (a nodeSelector, or required node affinity whose every term asks for
 * kubernetes.io/os In [windows]). Without spec.os neither the API server nor the kubelet checks
 * the containers against the OS, so such a pod is admitted and then stuck on its Windows node
 * with Linux-only images.
 */
function windowsSign(spec: JsonObject): string | undefined {
  if (isPlainObject(spec.os) && spec.os.name === 'windows') return 'spec.os.name: windows';
  if (isPlainObject(spec.nodeSelector) && spec.nodeSelector[osLabel] === 'windows') return `nodeSelector ${osLabel}: windows`;
  const affinity = isPlainObject(spec.affinity) ? spec.affinity.nodeAffinity : undefined;
  const required = isPlainObject(affinity) ? affinity.requiredDuringSchedulingIgnoredDuringExecution : undefined;
  const terms = isPlainObject(required) ? required.nodeSelectorTerms : undefined;
  const windowsOnly = (term: unknown): boolean =>
    isPlainObject(term) &&
    Array.isArray(term.matchExpressions) &&
    term.matchExpressions.some(
      (e: unknown) => isPlainObject(e) && e.key === osLabel && e.operator === 'In' && Array.isArray(e.values) && e.values.length > 0 && e.values.every((v) => v === 'windows'),
    );
  if (Array.isArray(terms) && terms.length > 0 && terms.every(windowsOnly)) return `required node affinity ${osLabel} In [windows]`;
  return undefined;
}
