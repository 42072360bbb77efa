// Dockerfile.injector and Dockerfile.cni cannot be built here (no container engine), so they are
// checked by reading: multi-stage, production dependencies only at runtime, numeric non-root user
// (the injector; the CNI agent is root), the webhook port, the documented entrypoints, and every
// COPY source exists and is not excluded by .dockerignore.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { repoPath } from '../support/paths.js';

interface Instruction { op: string; args: string; stage: number }

/** Instructions with line continuations joined; comments and parser directives dropped. */
function readDockerfile(file: string): Instruction[] {
  const joined = readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = -1;
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\w+)\s+(.*)$/.exec(line);
    assert.ok(match, `cannot read Dockerfile line: ${line}`);
    const op = (match[1] as string).toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: match[2] as string, stage });
  }
  return out;
}

const instructions = readDockerfile(repoPath('Dockerfile.injector'));
const lastStage = Math.max(...instructions.map((i) => i.stage));
const runtime = instructions.filter((i) => i.stage === lastStage);
const ignored = readFileSync(repoPath('.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

describe('Dockerfile.injector', () => {
  test('multi-stage: build with npm ci + tsc, runtime with npm ci --omit=dev', () => {
    assert.ok(lastStage >= 1, 'more than one stage');
    const runs = instructions.filter((i) => i.op === 'RUN' && i.stage < lastStage).map((i) => i.args);
    assert.ok(runs.some((r) => /npm ci(?!.*--omit=dev)/.test(r)), 'a build stage installs all dependencies');
    assert.ok(runs.some((r) => /\btsc\b/.test(r)), 'a build stage compiles');
    assert.ok(runs.some((r) => /npm ci .*--omit=dev/.test(r)), 'production dependencies are installed apart');
    assert.deepEqual(runtime.filter((i) => i.op === 'RUN'), [], 'the runtime stage runs nothing (no toolchain, no writes)');
  });

  test('runtime: numeric non-root user, port 9443, the pillion entrypoint', () => {
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.match(user ?? '', /^[1-9]\d*(:[1-9]\d*)?$/, 'numeric non-root uid (runAsNonRoot can verify it)');
    assert.ok(runtime.some((i) => i.op === 'EXPOSE' && i.args.split(/\s+/).includes('9443')));
    const entrypoint = runtime.filter((i) => i.op === 'ENTRYPOINT').at(-1)?.args;
    assert.deepEqual(JSON.parse(entrypoint ?? 'null'), ['node', '--max-semi-space-size=8', 'dist/injector/bin/pillion.js']);
    const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
    for (const needed of ['dist', 'node_modules', 'templates', 'package.json']) {
      assert.ok(copies.some((c) => c.includes(needed)), `the runtime stage gets ${needed}`);
    }
  });

  test('every COPY from the build context exists and is not excluded by .dockerignore', () => {
    const sources = instructions
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    assert.ok(sources.length > 0);
    for (const source of sources) {
      assert.ok(existsSync(repoPath(source)), `${source} exists`);
      assert.ok(!ignored.some((pattern) => pattern === source || pattern === source.split('/')[0]), `${source} is not in .dockerignore`);
    }
    for (const heavy of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(heavy), `.dockerignore excludes ${heavy}`);
  });
});

// Dockerfile.cni (the node agent and the plugin executable), read the same way.
const cniInstructions = readDockerfile(repoPath('Dockerfile.cni'));
const cniLastStage = Math.max(...cniInstructions.map((i) => i.stage));
const cniRuntime = cniInstructions.filter((i) => i.stage === cniLastStage);

describe('Dockerfile.cni', () => {
  test('the same Node base as the other images; a build stage that runs what npm run build:cni runs and bundles the agent', () => {
    const nodeImage = (file: string): string | undefined => /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(repoPath(file), 'utf8'))?.[1];
    assert.ok(nodeImage('Dockerfile.cni') !== undefined);
    assert.equal(nodeImage('Dockerfile.cni'), nodeImage('Dockerfile.injector'));
    assert.ok(cniLastStage >= 1, 'more than one stage');
    const runs = cniInstructions.filter((i) => i.op === 'RUN' && i.stage < cniLastStage).map((i) => i.args.replace(/\s+/g, ' ')).join(' && ');
    assert.match(runs, /npm ci(?! --omit)/, 'all dependencies (esbuild, postject)');
    const buildCni = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['build:cni'];
    assert.match(buildCni ?? '', /node dist\/cni\/build\/build-sea\.js/);
    assert.match(runs, /tsc -p tsconfig\.json && node dist\/cni\/build\/build-sea\.js/, 'build:cni\'s two steps');
    assert.match(runs, /esbuild cni\/install\/main\.ts --bundle .*--outfile=\/out\/pillion-cni-install\.mjs/);
    assert.match(runs, /CNI_COMMAND=VERSION \/out\/pillion-cni/, 'the executable runs before it ships');
  });

  test('runtime: nothing run, no node_modules, root (it writes host directories), the agent as entrypoint, the plugin where the DaemonSet says', () => {
    assert.deepEqual(cniRuntime.filter((i) => i.op === 'RUN'), []);
    const copies = cniRuntime.filter((i) => i.op === 'COPY').map((i) => i.args);
    assert.deepEqual(copies, ['--from=build /out/pillion-cni-install.mjs /out/pillion-cni ./']);
    assert.equal(cniRuntime.find((i) => i.op === 'WORKDIR')?.args, '/app');
    assert.equal(cniRuntime.filter((i) => i.op === 'USER').at(-1)?.args, '0:0');
    assert.deepEqual(JSON.parse(cniRuntime.filter((i) => i.op === 'ENTRYPOINT').at(-1)?.args ?? 'null'), ['node', '/app/pillion-cni-install.mjs']);
    const daemonset = readFileSync(repoPath('deploy', 'cni', 'component', 'cni-node-daemonset.yaml'), 'utf8');
    assert.match(daemonset, /- --source=\/app\/pillion-cni\n/);
  });

  test('every COPY from the build context exists and is not excluded by .dockerignore; scripts/build-images.sh builds it', () => {
    const sources = cniInstructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    assert.deepEqual(sources.sort(), ['cni', 'init', 'package-lock.json', 'package.json', 'tsconfig.json']);
    for (const source of sources) {
      assert.ok(existsSync(repoPath(source)), `${source} exists`);
      assert.ok(!ignored.some((pattern) => pattern === source || pattern === source.split('/')[0]), `${source} is not in .dockerignore`);
    }
    const script = readFileSync(repoPath('scripts', 'build-images.sh'), 'utf8');
    assert.match(script, /dockerfile\[cni\]=\$root_dir\/Dockerfile\.cni/);
    assert.match(script, /^\s+cni\)$/m, 'and smoke-tests it');
  });
});
