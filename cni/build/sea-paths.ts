// Where `npm run build:cni` writes the self-contained plugin (docs/cni.md names these paths).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from this file's place under dist/cni/build/. */
const root = fileURLToPath(new URL('../../../', import.meta.url));

export const seaDir = join(root, 'dist', 'sea');
/** The executable the installer copies to the node's CNI bin dir. */
export const seaExecutable = join(seaDir, 'pillion-cni');
/** The one-file bundle inside it (also runnable with `node`). */
export const seaBundle = join(seaDir, 'pillion-cni.cjs');
export const pluginEntry = join(root, 'cni', 'bin', 'pillion-cni.ts');
