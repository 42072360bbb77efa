// Building the injector setup `pillion inject` runs with: the core's setup from the flags' files,
// the cluster version from --kube-version and the capture mode from --capture-mode.
import { loadSetup } from '../core/setup.js';
import type { SetupFiles } from '../core/setup.js';
import type { CaptureMode, InjectorSetup } from '../core/types.js';

export interface SetupOptions extends SetupFiles {
  /** Already validated `X.Y` (or `vX.Y.Z`) text. */
  readonly kubeVersion: string | undefined;
  /** --capture-mode: wins over the config file's captureMode, like --kube-version. */
  readonly captureMode?: CaptureMode | undefined;
}

/** Load everything once; any problem is the core's SetupError naming the file. */
export function buildSetup(options: SetupOptions): InjectorSetup {
  const setup = loadSetup(options);
  // --kube-version and --capture-mode win over the config file: they describe the cluster this
  // output is for.
  const config = { ...setup.config };
  if (options.kubeVersion !== undefined) config.kubeVersion = options.kubeVersion;
  if (options.captureMode !== undefined) config.captureMode = options.captureMode;
  if (options.kubeVersion === undefined && options.captureMode === undefined) return setup;
  return { ...setup, config: Object.freeze(config) };
}
