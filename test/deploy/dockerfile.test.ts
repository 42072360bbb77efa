// Dockerfile.injector cannot be built here (no container engine), so it is checked by reading:
// multi-stage, production dependencies only at runtime, numeric non-root user, the webhook port,
// the documented entrypoint, and every COPY source exists and is not excluded by .dockerignore.
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
    assert.deepEqual(JSON.parse(entrypoint ?? 'null'), ['node', 'dist/injector/bin/pillion.js']);
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
