// Per-pod override annotations (pillion.dev/<name>). Each value is parsed with the same parser
// pillion-init uses for the flag of the same name, or a strict syntax check (Kubernetes quantity,
// image reference, log level). A bad value is an InjectionError naming the annotation; the
// parsed value — never the raw text — is what reaches the rendered pod.
import { parseBoolean, parseCidrList, parseCidrSelection, parseInterfaceList, parsePortList, parsePortSelection, ValueError } from '../../init/index.js';
import type { CaptureSettings } from './capture.js';
import { InjectionError } from './errors.js';
import { dnsLabel } from './names.js';

export const annotationPrefix = 'pillion.dev/';
export const injectKey = `${annotationPrefix}inject`;
export const templatesKey = `${annotationPrefix}templates`;
export const statusKey = `${annotationPrefix}status`;

export type ProxyLogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'critical' | 'off';
const logLevels: readonly ProxyLogLevel[] = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'];

type CaptureOverrides = { -readonly [K in keyof CaptureSettings]?: CaptureSettings[K] };

export interface PodOverrides {
  readonly capture: Readonly<CaptureOverrides>;
  readonly resources: { readonly requests: Record<string, string>; readonly limits: Record<string, string> };
  readonly proxyImage: string | undefined;
  readonly logLevel: ProxyLogLevel | undefined;
  readonly nativeSidecar: boolean | undefined;
  readonly templates: readonly string[] | undefined;
}

// Kubernetes resource.Quantity: a decimal number with an optional binary (Ki…Ei), decimal
// (m, k, M…E) or exponent suffix. Signs are refused: a negative request is never meant.
const quantity = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[mkMGTPE]|[eE][+-]?\d+)?$/;

// Container image reference (distribution/reference grammar): [host[:port]/]path[:tag][@digest].
const domainComponent = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])';
const domain = `(?:${domainComponent}(?:\\.${domainComponent})*(?::\\d{1,5})?)`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const imageReference = new RegExp(
  `^(?:${domain}/)?${pathComponent}(?:/${pathComponent})*(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);

/** Quote a value for an error message without flooding it. */
export function quoteValue(value: string): string {
  const quoted = JSON.stringify(value);
  return quoted.length > 120 ? `${quoted.slice(0, 100)}…" (${value.length} characters)` : quoted;
}

function invalid(annotation: string, why: string, cause?: unknown): InjectionError {
  return new InjectionError(`annotation ${annotation}: ${why.length > 300 ? `${why.slice(0, 300)}…` : why}`, annotation, cause === undefined ? undefined : { cause });
}

function parseWith<T>(annotation: string, value: string, parse: (text: string) => T): T {
  try {
    return parse(value);
  } catch (error) {
    if (error instanceof ValueError) throw invalid(annotation, error.message, error);
    throw error;
  }
}

function checkQuantity(annotation: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed.length > 64 || !quantity.test(trimmed)) {
    throw invalid(annotation, `${quoteValue(value)} is not a Kubernetes quantity (e.g. 100m, 0.5, 128Mi, 1Gi)`);
  }
  return trimmed;
}

function checkImage(annotation: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed.length > 512 || !imageReference.test(trimmed)) {
    throw invalid(annotation, `${quoteValue(value)} is not a container image reference (e.g. registry.example/envoy:v1.31)`);
  }
  return trimmed;
}

function checkLogLevel(annotation: string, value: string): ProxyLogLevel {
  const level = value.trim().toLowerCase();
  if (!(logLevels as readonly string[]).includes(level)) {
    throw invalid(annotation, `${quoteValue(value)} is not a log level (${logLevels.join(', ')})`);
  }
  return level as ProxyLogLevel;
}


/** The template names and which of them define the proxy (see TemplateSet). */
export interface TemplateCatalog {
  readonly names: readonly string[];
  readonly proxyTemplates: readonly string[];
}

/**
 * Why a list of templates cannot make a working proxy, or undefined when it can: exactly one
 * template must define the proxy (its image and command); the others are add-ons to it. Without
 * one the proxy container has no image; with two, the later overlays the earlier field by field
 * (one template's image with the other's arguments).
 */
export function templateCombinationProblem(names: readonly string[], catalog: TemplateCatalog): string | undefined {
  const proxies = names.filter((name) => catalog.proxyTemplates.includes(name));
  if (proxies.length === 1) return undefined;
  const known = catalog.proxyTemplates.join(', ');
  if (proxies.length === 0) {
    return `${names.join(',')} has no proxy template, so the proxy would have no image; name one first (proxy templates: ${known})`;
  }
  return `${names.join(',')} names ${proxies.length} proxy templates (${proxies.join(', ')}); a pod gets exactly one proxy, the others listed must be add-ons`;
}

/** Parse `pillion.dev/templates` against the names the template set has. */
export function parseTemplateList(value: string, catalog: TemplateCatalog): string[] {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw invalid(templatesKey, 'expected a comma-separated list of template names');
  for (const name of names) {
    if (!dnsLabel.test(name) || !catalog.names.includes(name)) {
      throw invalid(templatesKey, `unknown template ${quoteValue(name)} (known: ${catalog.names.join(', ')})`);
    }
  }
  const unique = [...new Set(names)];
  const problem = templateCombinationProblem(unique, catalog);
  if (problem !== undefined) throw invalid(templatesKey, problem);
  return unique;
}

type Handler = (overrides: MutableOverrides, value: string, annotation: string) => void;
interface MutableOverrides {
  capture: CaptureOverrides;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  proxyImage?: string;
  imageOverrideRequested?: boolean;
  logLevel?: ProxyLogLevel;
  nativeSidecar?: boolean;
}

/** Override annotations, named after pillion-init's flags where they map to one. */
const handlers: Readonly<Record<string, Handler>> = {
  'inbound-ports': (o, v, a) => (o.capture.inboundPorts = parseWith(a, v, parsePortSelection)),
  'exclude-inbound-ports': (o, v, a) => (o.capture.excludeInboundPorts = parseWith(a, v, parsePortList)),
  'outbound-cidrs': (o, v, a) => (o.capture.outboundCidrs = parseWith(a, v, parseCidrSelection)),
  'exclude-outbound-cidrs': (o, v, a) => (o.capture.excludeOutboundCidrs = parseWith(a, v, parseCidrList)),
  'outbound-ports': (o, v, a) => (o.capture.outboundPorts = parseWith(a, v, parsePortSelection)),
  'exclude-outbound-ports': (o, v, a) => (o.capture.excludeOutboundPorts = parseWith(a, v, parsePortList)),
  'exclude-interfaces': (o, v, a) => (o.capture.excludeInterfaces = parseWith(a, v, parseInterfaceList)),
  'redirect-dns': (o, v, a) => (o.capture.redirectDns = parseWith(a, v, parseBoolean)),
  'proxy-cpu': (o, v, a) => (o.resources.requests.cpu = checkQuantity(a, v)),
  'proxy-memory': (o, v, a) => (o.resources.requests.memory = checkQuantity(a, v)),
  'proxy-cpu-limit': (o, v, a) => (o.resources.limits.cpu = checkQuantity(a, v)),
  'proxy-memory-limit': (o, v, a) => (o.resources.limits.memory = checkQuantity(a, v)),
  'proxy-image': (o, v, a) => {
    o.proxyImage = checkImage(a, v);
    o.imageOverrideRequested = true;
  },
  'log-level': (o, v, a) => (o.logLevel = checkLogLevel(a, v)),
  'native-sidecar': (o, v, a) => (o.nativeSidecar = parseWith(a, v, parseBoolean)),
};

/** Every pillion.dev/ annotation this version understands (anything else draws a warning). */
export const knownAnnotations: readonly string[] = Object.freeze([
  injectKey,
  templatesKey,
  statusKey,
  ...Object.keys(handlers).map((name) => annotationPrefix + name),
]);

/** The known annotation within edit distance 2 of `key`, if any (typo hints in warnings). */
function suggestAnnotation(key: string): string | undefined {
  if (key.length > 80) return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const name of knownAnnotations) {
    const distance = editDistance(key, name);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * Parse the pod's override annotations. Throws InjectionError for the first invalid one (in
 * annotation-name order, so the error is deterministic). Warnings go to `warnings`.
 */
export function parseOverrides(
  annotations: Readonly<Record<string, unknown>>,
  knownTemplates: TemplateCatalog,
  allowImageOverride: boolean,
  warnings: string[],
): PodOverrides {
  const o: MutableOverrides = { capture: {}, resources: { requests: {}, limits: {} } };
  let templates: string[] | undefined;
  for (const key of Object.keys(annotations).sort()) {
    if (!key.startsWith(annotationPrefix)) continue;
    const value = annotations[key];
    const name = key.slice(annotationPrefix.length);
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    if (handler === undefined) {
      if (key === templatesKey) {
        if (typeof value !== 'string') throw invalid(key, 'annotation values must be strings');
        templates = parseTemplateList(value, knownTemplates);
      } else if (!knownAnnotations.includes(key)) {
        const hint = suggestAnnotation(key);
        warnings.push(`unknown annotation ${key} ignored${hint === undefined ? '' : ` (did you mean ${hint}?)`}; see docs/injection.md`);
      }
      continue;
    }
    if (typeof value !== 'string') throw invalid(key, 'annotation values must be strings');
    handler(o, value, key);
  }
  if (o.imageOverrideRequested === true && !allowImageOverride) {
    warnings.push(`annotation ${annotationPrefix}proxy-image ignored: image overrides are disabled (allowImageOverride: false)`);
    o.proxyImage = undefined;
  }
  return {
    capture: o.capture,
    resources: o.resources,
    proxyImage: o.proxyImage,
    logLevel: o.logLevel,
    nativeSidecar: o.nativeSidecar,
    templates,
  };
}
