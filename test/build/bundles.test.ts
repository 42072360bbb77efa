// What ships (injector/build/bundle.ts, run by `npm run build`): package.json's bin points at the
// bundles' launchers, and the bundles do what the compiled dist/ entry points do, byte for byte
// on stdout and stderr with the same exit code, over the corpus manifests and the CLI fixtures,
// -o json, uninject, help, version and usage errors; the bundled templates come prepared and are
// used only while the templates folder is unchanged; the launcher writes the compile cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { bundledTemplatesDir, loadTemplates } from '../../injector/core/templates.js';
import { prepareTemplates, preparedTemplateSet, type PreparedTemplates } from '../../injector/cli/setup.js';
import { builtinImportsAsConstants, bundleCommand } from '../../injector/build/bundle.js';
import { corpusFiles, manifestFiles } from '../support/corpus.js';
import { pillionBin, pillionInitBin, repoPath, repoRoot } from '../support/paths.js';
import { createTestCa, issueServingPair, makeTempDir } from '../injector/webhook/support/tls.js';

const bundleDir = repoPath('dist', 'bundle');
const pillionBundle = join(bundleDir, 'pillion', 'pillion.js');
const pillionInitBundle = join(bundleDir, 'pillion-init', 'pillion-init.js');

interface Run { status: number | null; stdout: string; stderr: string }
function run(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, input = ''): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { PATH: process.env.PATH ?? '', ...env } });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function same(args: readonly string[], bundle: string, dist: string, input = ''): void {
  const a = run(bundle, args, {}, input);
  const b = run(dist, args, {}, input);
  assert.deepEqual(a, b, `${relative(repoRoot, bundle)} ${args.join(' ')}`);
}

test('package.json\'s bin is the bundles\' launchers, and npm run build writes them', () => {
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  assert.equal(pkg.bin.pillion, 'dist/bundle/pillion/pillion.js');
  assert.equal(pkg.bin['pillion-init'], 'dist/bundle/pillion-init/pillion-init.js');
  assert.match(pkg.scripts.build ?? '', /node dist\/injector\/build\/bundle\.js/);
  for (const bin of [pillionBundle, pillionInitBundle]) assert.ok(existsSync(bin), `${bin} (npm run build)`);
  // verify runs the probe client from beside its own module (import.meta.url): the folder is flat.
  assert.ok(existsSync(join(bundleDir, 'pillion-init', 'probe-client.js')));
  assert.deepEqual(readdirSync(join(bundleDir, 'pillion-init')).filter((f) => !f.endsWith('.js')), ['package.json']);
  // pillion-init is CommonJS whatever package.json is above its folder (the init image has none).
  assert.deepEqual(JSON.parse(readFileSync(join(bundleDir, 'pillion-init', 'package.json'), 'utf8')), { type: 'commonjs' });
});

test('pillion inject and uninject: the bundle gives what dist/ gives, over every manifest', () => {
  const files = [...corpusFiles(), ...manifestFiles(repoPath('test', 'fixtures', 'inject-cli'))].map((f) => relative(repoRoot, f));
  assert.ok(files.length > 20);
  for (const file of files) {
    same(['inject', '-f', file], pillionBundle, pillionBin);
    same(['inject', '-f', file, '-o', 'json', '--report', 'json', '--policy'], pillionBundle, pillionBin);
  }
  const injected = run(pillionBin, ['inject', '-f', 'test/fixtures/inject-cli/workloads.yaml']).stdout;
  same(['uninject', '-f', '-'], pillionBundle, pillionBin, injected);
  same(['inject', '-f', 'test/fixtures/inject-cli/workloads.yaml', '--capture-mode', 'cni', '--kube-version', '1.28', '-n', 'prod'], pillionBundle, pillionBin);
});

test('pillion: help, version, usage errors and the commands commander reads come out the same', () => {
  for (const args of [[], ['--help'], ['-V'], ['inject', '--help'], ['inject'], ['inject', '-f'], ['inject', '-f', 'x.yaml', '-o', 'xml'], ['inject', '--nope'], ['nope'], ['webhook', '--help'], ['cni', 'install', '--help']]) {
    same(args, pillionBundle, pillionBin);
  }
});

test('pillion-init: dry runs, help and usage errors come out the same', () => {
  for (const args of [
    ['--dry-run'], ['apply', '--dry-run', '--ipv6', 'on', '--redirect-dns'], ['--dry-run', '--backend', 'legacy', '--exclude-inbound-ports', '15090,15021,15020'],
    ['--help'], ['explain', '--help'], ['validate', '--help'], ['--dry-run', '--no-such-flag'], ['--inbound-port'], ['frobnicate'], ['x'],
    ['explain', '--to', '10.1.2.3:443', '--exclude-outbound-ports', '443', '--interface', 'eth0'],
  ]) {
    same(args, pillionInitBundle, pillionInitBin);
  }
});

test('the prepared templates read back as loadTemplates loads them, and only for the same files', () => {
  const loaded = loadTemplates(bundledTemplatesDir);
  const prepared = JSON.parse(JSON.stringify(prepareTemplates(loaded, bundledTemplatesDir))) as PreparedTemplates;
  const back = preparedTemplateSet(prepared, bundledTemplatesDir);
  assert.ok(back !== undefined);
  assert.ok(isDeepStrictEqual({ ...back }, { ...loaded }));
  const dir = mkdtempSync(join(tmpdir(), 'pillion-prepared-'));
  try {
    cpSync(bundledTemplatesDir, dir, { recursive: true });
    assert.ok(preparedTemplateSet(prepared, dir) !== undefined, 'a copy of the same files');
    writeFileSync(join(dir, 'values.yaml'), `${readFileSync(join(dir, 'values.yaml'), 'utf8')}\n# changed\n`);
    assert.equal(preparedTemplateSet(prepared, dir), undefined, 'a changed file');
    cpSync(bundledTemplatesDir, dir, { recursive: true });
    writeFileSync(join(dir, 'extra.yaml'), 'pod: {spec: {}}\n');
    assert.equal(preparedTemplateSet(prepared, dir), undefined, 'one more template');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundle of pillion reads a changed templates folder instead of its prepared templates', () => {
  // A copy of the package: package.json, templates/ and the bundle where npm puts them.
  const pkg = mkdtempSync(join(tmpdir(), 'pillion-package-'));
  try {
    cpSync(repoPath('package.json'), join(pkg, 'package.json'));
    cpSync(repoPath('templates'), join(pkg, 'templates'), { recursive: true });
    mkdirSync(join(pkg, 'dist'));
    cpSync(join(bundleDir, 'pillion'), join(pkg, 'dist', 'bundle', 'pillion'), { recursive: true });
    const bin = join(pkg, 'dist', 'bundle', 'pillion', 'pillion.js');
    const manifest = repoPath('test', 'fixtures', 'inject-cli', 'workloads.yaml');
    assert.equal(run(bin, ['inject', '-f', manifest]).stdout, run(pillionBin, ['inject', '-f', manifest]).stdout, 'the same templates');
    const values = join(pkg, 'templates', 'values.yaml');
    const text = readFileSync(values, 'utf8');
    const image = /^( *image: *)(\S+)$/m.exec(text);
    assert.ok(image !== null, 'values.yaml names an image');
    writeFileSync(values, text.replace(image[0], `${image[1]}example.com/changed:1`));
    const changed = run(bin, ['inject', '-f', manifest]);
    assert.equal(changed.status, 0, changed.stderr);
    assert.match(changed.stdout, /example\.com\/changed:1/);
    assert.deepEqual(changed, run(pillionBin, ['inject', '-f', manifest, '--templates', join(pkg, 'templates')]));
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
});

test('the launcher turns the compile cache on (Node\'s folder under TMPDIR)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pillion-compile-cache-'));
  try {
    const r = run(pillionInitBundle, ['--dry-run'], { TMPDIR: tmp });
    assert.equal(r.status, 0, r.stderr);
    const cache = join(tmp, 'node-compile-cache');
    assert.ok(existsSync(cache) && readdirSync(cache).length > 0, 'node-compile-cache written');
    assert.equal(run(pillionInitBundle, ['--dry-run'], { TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' }).stdout, r.stdout);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the bundle reads the named imports of built-in modules with process.getBuiltinModule; type imports untouched', () => {
  const source = [
    "import { readFileSync, statSync as stat } from 'node:fs';",
    "import type { Server } from 'node:net';",
    "import { createServer, type Socket } from 'node:net';",
    "import { parse } from 'yaml';",
    "  import { x } from 'node:os';",
  ].join('\n');
  assert.equal(builtinImportsAsConstants(source), [
    "const { readFileSync, statSync: stat } = process.getBuiltinModule('node:fs');",
    "import type { Server } from 'node:net';",
    "import type { Socket } from 'node:net'; const { createServer } = process.getBuiltinModule('node:net');",
    "import { parse } from 'yaml';",
    "  import { x } from 'node:os';",
  ].join('\n'));
});

test('the bundle carries yaml\'s ES module build, which reads no environment variable per token', () => {
  const main = readFileSync(join(bundleDir, 'pillion', 'main.js'), 'utf8');
  assert.match(main, /Not a YAML token/, 'yaml\'s parser is bundled');
  // The CommonJS build's Parser.next and Composer.next read these for every token.
  assert.doesNotMatch(main, /LOG_TOKENS|LOG_STREAM/);
});

test('pillion webhook starts from the bundle (its packages come from node_modules) and stops on SIGTERM', async () => {
  const tmp = makeTempDir('pillion-bundle-webhook-');
  try {
    const pair = issueServingPair(createTestCa(tmp.dir));
    writeFileSync(join(tmp.dir, 'tls.crt'), pair.certPem);
    writeFileSync(join(tmp.dir, 'tls.key'), pair.keyPem);
    const child = spawn(process.execPath, [pillionBundle, 'webhook', '--cert', join(tmp.dir, 'tls.crt'), '--key', join(tmp.dir, 'tls.key'), '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const listening = await new Promise<boolean>((done) => {
      const poll = setInterval(() => {
        if (/Server listening at https:\/\/127\.0\.0\.1:\d+/.test(out)) {
          clearInterval(poll);
          done(true);
        }
      }, 20);
      void exited.then(() => {
        clearInterval(poll);
        done(false);
      });
    });
    child.kill('SIGTERM');
    const code = await exited;
    assert.ok(listening, out);
    assert.equal(code, 0, out);
  } finally {
    tmp.remove();
  }
});

test('a rebuild updates the folder in place: what a running process may still import stays until it is stale', async () => {
  const out = mkdtempSync(join(tmpdir(), 'pillion-rebuild-'));
  try {
    const dir = join(out, 'pillion-init');
    mkdirSync(dir);
    writeFileSync(join(dir, 'chunk-RECENT.js'), '');
    writeFileSync(join(dir, 'chunk-STALE.js'), '');
    const hourAgo = new Date(Date.now() - 60 * 60 * 1000);
    utimesSync(join(dir, 'chunk-STALE.js'), hourAgo, hourAgo);
    const bin = await bundleCommand('pillion-init', repoRoot, out);
    assert.ok(existsSync(join(dir, 'chunk-RECENT.js')), 'a recent file of an earlier build is kept');
    assert.ok(!existsSync(join(dir, 'chunk-STALE.js')), 'a stale one is removed');
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.partial')), []);
    assert.equal(run(bin, ['--dry-run']).stdout, run(pillionInitBin, ['--dry-run']).stdout);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
