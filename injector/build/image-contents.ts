// What the injector image ships, derived from what `pillion` imports rather than listed by hand:
// esbuild follows every import from the compiled entry point (the lazy ones of the webhook and
// --self-signed too) without bundling packages, and reports the first-party files it reached and
// the packages they import. Dockerfile.injector runs it after tsc:
//   node dist/injector/build/image-contents.js OUT
//     OUT/dist/…                  the compiled files pillion reaches (the injector, and the parts of
//                                 init it uses), at their dist/ paths, without source maps
//     OUT/unused-dependencies     production dependencies pillion never imports (those only
//                                 pillion-init uses), one a line, for `npm uninstall` after `npm ci`
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const entry = 'dist/injector/bin/pillion.js';

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

async function imageContents(out: string): Promise<{ files: string[]; packages: string[]; unused: string[] }> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    splitting: true,
    outdir: join(out, 'unused-bundle'),
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  const builtins = new Set(builtinModules);
  const files = Object.keys(result.metafile.inputs).sort();
  const packages = new Set<string>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (imported.external !== true || imported.path.startsWith('node:') || builtins.has(imported.path)) continue;
      packages.add(packageOf(imported.path));
    }
  }
  const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies?: Record<string, string> };
  const dependencies = Object.keys(manifest.dependencies ?? {});
  const undeclared = [...packages].filter((name) => !dependencies.includes(name));
  if (undeclared.length > 0) throw new Error(`${entry} imports ${undeclared.join(', ')}, which package.json's dependencies do not list`);
  return { files, packages: [...packages].sort(), unused: dependencies.filter((name) => !packages.has(name)) };
}

const out = process.argv[2];
if (out === undefined) throw new Error('usage: image-contents.js OUT');
const { files, packages, unused } = await imageContents(out);
for (const file of files) {
  mkdirSync(join(out, dirname(file)), { recursive: true });
  copyFileSync(file, join(out, file));
}
writeFileSync(join(out, 'unused-dependencies'), unused.map((name) => `${name}\n`).join(''));
process.stdout.write(`image-contents: ${files.length} files; imports ${packages.join(', ')}; not shipped: ${unused.join(', ') || 'nothing'}\n`);
