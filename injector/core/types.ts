// The contract of the injection core. The webhook (injector/webhook) and `pillion inject`
// (injector/cli) both call injectPod() with these types; nothing else decides injection.
import type { Operation } from 'fast-json-patch';

/** A pod or pod-template-bearing object as plain JSON (what the API server or a manifest gives). */
export type JsonObject = { [key: string]: unknown };

export type InjectPolicy = 'enabled' | 'disabled';
export type NativeSidecarMode = 'on' | 'off' | 'auto';
/**
 * Who installs a pod's capture rules: `init`, the privileged pillion-init init container; `cni`,
 * the pillion-cni plugin while the pod's sandbox is created (the pod gets an unprivileged
 * validation init container instead, and its status records the plugin's settings).
 */
export type CaptureMode = 'init' | 'cni';

/** Injector configuration: plain data, parsed once, frozen. See injector/core/config.ts. */
export interface InjectorConfig {
  /** Policy for pods that neither opt in nor opt out (namespace label also opts in). */
  readonly defaultPolicy: InjectPolicy;
  /** Templates applied when a pod names none with pillion.dev/templates. */
  readonly defaultTemplates: readonly string[];
  /** Namespace the injector runs in; never injected. */
  readonly injectorNamespace: string;
  readonly nativeSidecar: NativeSidecarMode;
  /** Cluster version (`1.29`), used when nativeSidecar is `auto`. */
  readonly kubeVersion: string | undefined;
  /** Whether pillion.dev/proxy-image is honoured. */
  readonly allowImageOverride: boolean;
  readonly holdApplicationUntilProxyStarts: boolean;
  readonly captureMode: CaptureMode;
}

/** What the caller knows about the pod's surroundings. */
export interface InjectContext {
  /** Namespace of the pod (request namespace for the webhook; metadata or --namespace for the CLI). */
  readonly namespace: string | undefined;
  /** Labels of that namespace, when known (webhook looks them up; CLI has none). */
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  /**
   * `policy`: the webhook's decision (opt-in needed unless default policy enables).
   * `candidate`: `pillion inject` default — every workload is a candidate unless it opts out or a
   * skip rule applies, like istioctl kube-inject.
   */
  readonly mode: 'policy' | 'candidate';
  /**
   * Other pods of the same input already use native sidecars (an init container with
   * restartPolicy: Always), which proves the cluster supports them: nativeSidecar `auto` then
   * turns them on. The pod's own spec counts as well without this.
   */
  readonly nativeSidecarsInUse?: boolean;
}

export type SkipReason =
  | 'opted-out'
  | 'not-opted-in'
  | 'host-network'
  | 'windows-pod'
  | 'system-namespace'
  | 'injector-namespace'
  | 'already-injected'
  | 'other-mesh';

/** A pod that was changed: injected, or (uninjectPod) stripped of an injection. */
export interface PodChange<Kind extends string> {
  readonly kind: Kind;
  /** The changed pod (a new object; the input is never modified). */
  readonly pod: JsonObject;
  /** RFC 6902 patch that turns the input into `pod`. */
  readonly patch: readonly Operation[];
  /** The templates injected (or, for uninjection, removed). */
  readonly templates: readonly string[];
  /** Things the user should know (ignored annotation, override a template could not apply). */
  readonly warnings: readonly string[];
}

/** A pod left as it was, and why. */
export interface PodSkip<Reason extends string> {
  readonly kind: 'skipped';
  readonly reason: Reason;
  /** Human-readable detail, e.g. "namespace kube-system is never injected". */
  readonly detail: string;
  readonly warnings: readonly string[];
}

export type InjectResult = PodChange<'injected'> | PodSkip<SkipReason>;

/** What uninjectPod() returns: the pod without what Pillion added, or why nothing was removed. */
export type UninjectResult = PodChange<'uninjected'> | PodSkip<'not-injected'>;

/**
 * What became of one pod, as both front ends report it (see report.ts): `pillion inject --report`
 * adds where the workload is, the webhook adds the request it answered.
 */
export interface PodReport {
  readonly decision: 'injected' | 'uninjected' | 'skipped';
  readonly reason: SkipReason | 'not-injected' | null;
  readonly detail: string | null;
  readonly templates: readonly string[];
  readonly warnings: readonly string[];
}

/** A loaded, validated set of templates plus their values. See injector/core/templates.ts. */
export interface TemplateSet {
  /** Folder the templates were read from (for messages). */
  readonly dir: string;
  /** Template names (file names without `.yaml`), sorted. */
  readonly names: readonly string[];
  /** Templates that define the proxy (give pillion-proxy an image); the others are add-ons. */
  readonly proxyTemplates: readonly string[];
  readonly templates: ReadonlyMap<string, Template>;
  /** templates/values.yaml, deep-frozen plain data. */
  readonly values: JsonObject;
  /**
   * Content hash of every template file and values.yaml. Recorded in the status annotation: a pod
   * injected with the same version is skipped, one with another version is stripped and re-rendered.
   */
  readonly version: string;
  /** values.yaml `hold.command`, rendered: the postStart argv of holdApplicationUntilProxyStarts. */
  readonly holdCommand: readonly string[];
  /** `hold.command` is the bundled one, which checks capture when given the check's arguments. */
  readonly holdChecksCapture: boolean;
}

/** One parsed template file: a pod fragment (with `${...}` references) and optional local data. */
export interface Template {
  readonly name: string;
  readonly file: string;
  /** `data:` section: plain data the fragment may reference as `${data.x}` / `${json:data.x}`. */
  readonly data: JsonObject;
  /** `pod:` section: `{ metadata?: { annotations?, labels? }, spec: {...} }`. */
  readonly pod: JsonObject;
}

/** Everything injectPod needs besides the pod: parsed once at start-up, shared by every request. */
export interface InjectorSetup {
  readonly config: InjectorConfig;
  readonly templates: TemplateSet;
}
