// Capture mode `cni` (injector config `captureMode: cni`): the pillion-cni plugin installs the
// rules while the pod's sandbox is created, so the pod gets no NET_ADMIN/NET_RAW init container.
//
// The core, not the templates, makes the change, on the rendered fragment: templates stay data
// (no conditionals in the template language), every template and combination works in both
// modes without repeating anything, and custom templates get the same treatment. The template's
// capture init container (`pillion-init`) is the one source of the settings in both modes:
//   - its args (apply's flags) and the PILLION_* variables of its env (haproxy's PILLION_IPV6=off)
//     are parsed with pillion-init's own parser, exactly as the init container would read them,
//     and re-formatted as canonical flags. The plugin parses those with an EMPTY environment, so
//     everything the environment said must become a flag; the result is the same CaptureConfig.
//   - the flags go into the status record (`capture: {mode: "cni", args}`), the plugin's contract
//     (cni/pod/contract.ts);
//   - the container itself is replaced, at the same place, by an unprivileged validation container
//     that runs `pillion-init validate` with the same flags; volumes only it mounted go with it.
import { capturedPort, captureFlags, ordinaryId, parseCaptureConfig, UsageError, type CaptureConfig, type CapturePlan, type IpFamily } from '../../init/index.js';
import { formatCaptureFlags } from './capture.js';
import { isPlainObject, listOf } from './json.js';
import type { JsonObject } from './types.js';
import { InjectionError } from './errors.js';

/**
 * A pod with a user namespace of its own (`spec.hostUsers: false`) cannot be captured by the
 * plugin: its network namespace belongs to that user namespace, the plugin programs it from the
 * node's, and the kernel refuses the capture's owner-match rules there. Every ADD would fail and
 * the pod would wait for its sandbox forever, so it is refused here, saying why. (Init mode is
 * not affected: pillion-init runs inside the pod's user namespace.)
 */
export function checkCniCapturable(spec: unknown): void {
  if (isPlainObject(spec) && spec.hostUsers === false) {
    throw new InjectionError(
      'spec.hostUsers is false: the pod has a user namespace of its own, which captureMode cni cannot capture (the pillion-cni plugin programs the pod\'s network namespace from the node, and the kernel refuses its rules there), so the pod would never get its sandbox; opt it out with pillion.dev/inject: disabled, or leave hostUsers unset',
    );
  }
}

/** The template container that installs capture in init mode. */
export const captureContainerName = 'pillion-init';
/** What replaces it in CNI mode. */
export const validationContainerName = 'pillion-validation';

/** The status annotation's record of a CNI-mode pod: what the plugin installs. */
export interface CaptureRecord {
  readonly mode: 'cni';
  /** Canonical pillion-init apply flags, without the `apply`. */
  readonly args: readonly string[];
}

export interface CniFragment {
  readonly fragment: JsonObject;
  /** Undefined when the templates add no capture container (nothing is captured in either mode). */
  readonly capture: CaptureRecord | undefined;
}

const captureEnvNames = new Map(captureFlags.map((f) => [f.env, f.flag]));

/**
 * The settings the capture container's pillion-init would run with, parsed, and as canonical
 * flags. `fail` receives why they cannot be known (the caller names the templates).
 */
export function captureContainerSettings(container: JsonObject, fail: (why: string) => never): { config: CaptureConfig; flags: string[] } {
  if (container.command !== undefined) {
    fail(`container ${captureContainerName} sets "command", so its pillion-init flags cannot be read for CNI mode; give pillion-init's flags as "args"`);
  }
  const args = container.args ?? [];
  if (!Array.isArray(args) || !args.every((a): a is string => typeof a === 'string')) fail(`container ${captureContainerName}: "args" must be a list of strings`);
  const flags = args[0] === 'apply' ? args.slice(1) : [...args];
  if (flags[0] !== undefined && !flags[0].startsWith('-')) fail(`container ${captureContainerName} runs "pillion-init ${flags[0]}", not apply`);
  if (container.envFrom !== undefined) fail(`container ${captureContainerName} has "envFrom", which could set PILLION_* variables the injector cannot see`);
  const env: Record<string, string> = {};
  for (const item of listOf(container, 'env')) {
    if (!isPlainObject(item) || typeof item.name !== 'string' || !captureEnvNames.has(item.name)) continue;
    if (typeof item.value !== 'string') fail(`container ${captureContainerName}: env ${item.name} must have a literal "value" (CNI mode turns it into ${String(captureEnvNames.get(item.name))})`);
    env[item.name] = item.value;
  }
  try {
    const config = parseCaptureConfig(flags, env);
    return { config, flags: formatCaptureFlags(config) };
  } catch (error) {
    if (error instanceof UsageError) {
      fail(`pillion-init would reject the capture settings (the template's with the pod's pillion.dev/ annotations), and so would the CNI plugin: ${error.message}`);
    }
    throw error;
  }
}

/**
 * The validation init container: pillion-init's image, no privilege at all (Pod Security
 * "restricted"), as an ordinary uid/gid that the rules capture (neither the proxy's uid nor its
 * gid). Its resources are the capture container's: the same program with the same start-up cost.
 */
function validationContainer(capture: JsonObject, config: CaptureConfig, flags: readonly string[]): JsonObject {
  const id = ordinaryId(config.proxyUid, config.proxyGid);
  const container: JsonObject = { name: validationContainerName, image: capture.image };
  if (capture.imagePullPolicy !== undefined) container.imagePullPolicy = capture.imagePullPolicy;
  container.args = ['validate', ...flags];
  // A pod whose capture is missing must not start, and the reason (one line naming the family)
  // belongs where users look: the termination message.
  container.terminationMessagePolicy = 'FallbackToLogsOnError';
  if (capture.resources !== undefined) container.resources = capture.resources;
  container.securityContext = {
    runAsUser: id,
    runAsGroup: id,
    runAsNonRoot: true,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
  return container;
}

function mountedVolumes(container: unknown): string[] {
  if (!isPlainObject(container)) return [];
  return listOf(container, 'volumeMounts').flatMap((m) => (isPlainObject(m) && typeof m.name === 'string' ? [m.name] : []));
}

/**
 * The fragment for CNI mode: the capture container replaced by the validation container, at the
 * same place. Template init containers go first in the pod (injectPod's assembleSpec), and a
 * native-sidecar proxy right after them, so validation runs before the proxy listens on the
 * outbound port (validate listens there itself) and before any app init container, which may
 * already need capture. A fragment without a capture container is returned as it is.
 */
export function toCniMode(fragment: JsonObject, fail: (why: string) => never): CniFragment {
  const spec = isPlainObject(fragment.spec) ? fragment.spec : {};
  const init = listOf(spec, 'initContainers');
  const index = init.findIndex((c) => isPlainObject(c) && c.name === captureContainerName);
  if (index < 0) return { fragment, capture: undefined };
  const capture = init[index] as JsonObject;
  const { config, flags } = captureContainerSettings(capture, fail);
  const newSpec: JsonObject = { ...spec, initContainers: init.map((c, i) => (i === index ? validationContainer(capture, config, flags) : c)) };
  // Volumes only the capture container mounted (its /run for the xtables lock) go with it.
  const stillMounted = new Set([...init.filter((_, i) => i !== index), ...listOf(spec, 'containers')].flatMap(mountedVolumes));
  const unused = new Set(mountedVolumes(capture).filter((name) => !stillMounted.has(name)));
  if (unused.size > 0 && spec.volumes !== undefined) {
    const volumes = listOf(spec, 'volumes').filter((v) => !(isPlainObject(v) && typeof v.name === 'string' && unused.has(v.name)));
    if (volumes.length > 0) newSpec.volumes = volumes;
    else delete newSpec.volumes;
  }
  return { fragment: { ...fragment, spec: newSpec }, capture: { mode: 'cni', args: Object.freeze(flags) } };
}

/**
 * What a native-sidecar proxy's hold hook checks in CNI mode, in place of the validation init
 * container: for each family the plugin captures, the proxy's own connection to its pod's address
 * on `port` (the hairpin, which the rules send to the inbound port) must reach the proxy.
 */
export interface HoldCaptureCheck {
  /** A port the plan redirects to the inbound port for the proxy's uid connecting to its own pod. */
  readonly port: number;
  readonly families: readonly IpFamily[];
}

// Any address of the family does: the hairpin rules match the proxy's uid, lo and "not loopback".
const sampleAddress: Record<IpFamily, string> = { 4: '192.0.2.1', 6: '2001:db8::1' };

/**
 * The hold hook's capture check for what the plugin installs (`config` and its plan); undefined
 * when the plan redirects no hairpin connection of some captured family (the validation
 * container then stays).
 */
export function holdCaptureCheck(config: CaptureConfig, plan: CapturePlan): HoldCaptureCheck | undefined {
  const families = plan.families.map((f) => f.family);
  let port: number | undefined;
  for (const family of families) {
    const sender = { family, address: sampleAddress[family], uid: config.proxyUid, gid: config.proxyGid };
    const found = capturedPort(plan, sender, config.inboundPort, config);
    if (found === undefined || (port !== undefined && found !== port)) return undefined;
    port = found;
  }
  return port === undefined ? undefined : Object.freeze({ port, families: Object.freeze(families) });
}
