// The contract between the injector (in CNI mode) and this plugin, written down in docs/cni.md:
//
//   pillion.dev/status: {"version": ..., ..., "capture": {"mode": "cni", "args": ["--proxy-uid=1337", ...]}}
//
// "args" are the canonical pillion-init apply flags the injector formats (formatInitArgs; a
// leading "apply" is accepted), so the plugin feeds them to pillion-init's own parser and planner
// and CNI mode installs exactly what the init container would. A pod without the annotation, or
// whose capture mode is not "cni" (the init container captures it), passes through untouched.
import { parseCaptureConfig, UsageError, type CaptureConfig } from '../../init/index.js';
import { CniError, pluginCodes } from '../protocol/errors.js';
import { isObject } from '../protocol/json.js';

export const statusAnnotation = 'pillion.dev/status';

export type CaptureDecision =
  | { readonly capture: false; readonly reason: string }
  | { readonly capture: true; readonly args: readonly string[]; readonly config: CaptureConfig };

function invalid(message: string, details = ''): CniError {
  return new CniError(pluginCodes.invalidCaptureSettings, `${statusAnnotation}: ${message}`, details);
}

/** Decide from a pod's annotations. Malformed settings of a pod that asks for CNI capture fail. */
export function decideFromAnnotations(annotations: Readonly<Record<string, string>>): CaptureDecision {
  const text = annotations[statusAnnotation];
  if (text === undefined) return { capture: false, reason: `no ${statusAnnotation} annotation: not injected` };
  let status: unknown;
  try {
    status = JSON.parse(text);
  } catch {
    throw invalid('is not valid JSON');
  }
  if (!isObject(status)) throw invalid('is not a JSON object');
  const capture = status.capture;
  if (capture === undefined) return { capture: false, reason: 'injected without a capture record: the init container captures it' };
  if (!isObject(capture) || typeof capture.mode !== 'string') throw invalid('"capture" must be an object with a "mode"');
  if (capture.mode !== 'cni') return { capture: false, reason: `capture mode "${capture.mode}": not the CNI plugin's job` };
  const args = capture.args;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw invalid('"capture.args" must be a list of strings');
  const flags = args[0] === 'apply' ? args.slice(1) : [...args];
  try {
    // An empty environment: PILLION_* variables of the node's runtime must never change a pod's rules.
    return { capture: true, args: flags, config: parseCaptureConfig(flags, {}) };
  } catch (error) {
    if (error instanceof UsageError) throw invalid(`"capture.args" rejected by pillion-init: ${error.message}`, flags.join(' '));
    throw error;
  }
}
