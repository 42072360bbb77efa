// Building the injector setup `pillion inject` runs with: the core's setup from the flags' files,
// and the cluster version from --kube-version.
import { loadSetup } from '../core/setup.js';
import type { SetupFiles } from '../core/setup.js';
import type { InjectorSetup } from '../core/types.js';

export interface SetupOptions extends SetupFiles {
  /** Already validated `X.Y` (or `vX.Y.Z`) text. */
  readonly kubeVersion: string | undefined;
}

/** Load everything once; any problem is the core's SetupError naming the file. */
export function buildSetup(options: SetupOptions): InjectorSetup {
  const setup = loadSetup(options);
  // --kube-version wins over the config file: it describes the cluster this output is for.
  if (options.kubeVersion === undefined) return setup;
  return { ...setup, config: Object.freeze({ ...setup.config, kubeVersion: options.kubeVersion }) };
}
