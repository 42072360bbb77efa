// Builds the self-contained pillion-cni for nodes without Node.js (npm run build:cni):
//   1. esbuild bundles cni/bin/pillion-cni.ts and everything it imports (init's library,
//      commander) into one CommonJS script: dist/sea/pillion-cni.cjs
//   2. node --experimental-sea-config turns it into a blob (with V8's code cache, so start-up
//      skips compiling the bundle), and postject injects the blob into a copy of this node
//      binary: dist/sea/pillion-cni, the file the installer copies to the node's CNI bin dir.
// The executable needs nothing from the node but nsenter and the iptables tools.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { pluginEntry, seaBundle, seaDir, seaExecutable } from './sea-paths.js';

/** The sentinel Node's single-executable support looks for (documented by Node). */
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

type Inject = (file: string, resource: string, data: Buffer, options: { sentinelFuse: string }) => Promise<void>;

async function buildSea(): Promise<string> {
  // The first Node whose single executables honour "execArgvExtension", which
  // cni/bin/pillion-cni.ts relies on to keep NODE_OPTIONS out: 24.7.
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 24 || (major === 24 && minor < 7)) {
    throw new Error(`the executable must be built with Node 24.7 or later, not ${process.version} (npm run build:cni runs the pinned one)`);
  }
  mkdirSync(seaDir, { recursive: true });
  await build({
    entryPoints: [pluginEntry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    outfile: seaBundle,
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // verify's probe-client path is resolved from import.meta.url only when verify runs, which the plugin never does.
    logOverride: { 'empty-import-meta': 'silent' },
    logLevel: 'warning',
  });
  const blob = join(seaDir, 'pillion-cni.blob');
  const config = join(seaDir, 'sea-config.json');
  writeFileSync(config, JSON.stringify({
    main: seaBundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    // NODE_OPTIONS from the environment is ignored (Node 24.7+; checked above).
    execArgvExtension: 'none',
  }, null, 2));
  // Its stderr only when it fails (in the thrown error): Node 24 reports the blob written there.
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Made beside it and renamed into place: until the blob is in, the copy is a plain node, which
  // anything running the executable meanwhile (a test, another build's test) must never see.
  const partial = `${seaExecutable}.${process.pid}.partial`;
  copyFileSync(process.execPath, partial);
  const { inject } = createRequire(import.meta.url)('postject') as { inject: Inject };
  await inject(partial, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: seaFuse });
  chmodSync(partial, 0o755);
  renameSync(partial, seaExecutable);
  rmSync(blob);
  return seaExecutable;
}

process.stdout.write(`${await buildSea()}\n`);
