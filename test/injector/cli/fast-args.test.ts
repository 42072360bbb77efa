// `pillion inject|uninject` command lines read without commander (injector/cli/fast-args.ts, issue
// 11) must give the command exactly the flags commander gives it, and every command line the fast
// path does not take must be one commander handles (help, version, errors, the other commands).
// Checked against the real commander program (injector/cli/program.ts's commands) on generated argv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import fc from 'fast-check';
import { registerInjectCommand } from '../../../injector/cli/command.js';
import { parseFastArgs } from '../../../injector/cli/fast-args.js';

/** What commander hands the command's action, or why it stops (error, help, version). */
async function viaCommander(argv: readonly string[]): Promise<{ command: string; flags: unknown } | { stopped: string }> {
  const program = new Command('pillion')
    .version('0.0.0', '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
  registerInjectCommand(program);
  let seen: { command: string; flags: unknown } | undefined;
  for (const sub of program.commands) {
    sub.configureOutput({ writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined });
    sub.action((flags: unknown) => {
      seen = { command: sub.name(), flags: { ...(flags as object) } };
    });
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { stopped: error.code };
  }
  return seen ?? { stopped: 'no action' };
}

const words = [
  'inject', 'uninject', 'webhook', '-f', '--filename', '-fapp.yaml', '-f=app.yaml', '--filename=a.yaml', '-', '--', 'app.yaml', '=x',
  '-o', '--output', '-ojson', '-o=json', 'json', 'yaml', 'xml', '--output=yaml', '-n', '--namespace', '-nprod', '-n=prod', 'prod', 'Bad_NS',
  '--report', 'text', '--report=json', '--templates', '--values', '--config', '--templates=dir', '--policy', '--policy=true', '--kube-version',
  '1.29', 'v1.30.2', ' 1.31 ', '=1.29', 'nope', '--kube-version=1.28', '--capture-mode', 'cni', 'init', '--capture-mode=cni', '-V', '--version',
  '-h', '--help', '-x', '--nope', '', '-5', '-fo',
];

test('fast-args takes only what commander accepts, and reads it as commander does', async () => {
  const token = fc.oneof(fc.constantFrom(...words), fc.string({ maxLength: 3 }));
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('inject', 'uninject', 'webhook', '-V'), fc.array(token, { maxLength: 8 }), async (first, rest) => {
      const argv = [first, ...rest];
      const fast = parseFastArgs(argv);
      if (fast === undefined) return;
      assert.deepEqual(await viaCommander(argv), { command: fast.command, flags: fast.flags }, JSON.stringify(argv));
    }),
    { numRuns: 4000 },
  );
});

test('fast-args reads generated well-formed command lines as commander does (and sometimes takes them)', async () => {
  const pair = fc.oneof(
    fc.tuple(fc.constantFrom('-f', '--filename'), fc.constantFrom('a.yaml', '=b.yaml', '-', '--x', '-o', '')),
    fc.tuple(fc.constantFrom('-o', '--output', '--report'), fc.constantFrom('yaml', 'json', 'text', '=json', 'xml')),
    fc.tuple(fc.constantFrom('-n', '--namespace'), fc.constantFrom('prod', '=prod', 'Bad', '-n', 'a-b')),
    fc.tuple(fc.constantFrom('--kube-version'), fc.constantFrom('1.29', 'v1.30.2', ' 1.31 ', '=1.29', 'x', '1')),
    fc.tuple(fc.constantFrom('--capture-mode'), fc.constantFrom('cni', 'init', '=cni', 'x')),
    fc.tuple(fc.constantFrom('--templates', '--values', '--config'), fc.constantFrom('d', '=d', '--policy', '')),
    fc.constantFrom(['--policy'], ['-fa.yaml'], ['-f=a.yaml'], ['-ojson'], ['--output=json'], ['--namespace=p'], ['--values=v'], ['--policy=1']),
  );
  let taken = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('inject', 'uninject'), fc.array(pair, { minLength: 1, maxLength: 6 }), async (first, pairs) => {
      const argv = [first, ...pairs.flat()];
      const fast = parseFastArgs(argv);
      if (fast === undefined) return;
      taken++;
      assert.deepEqual(await viaCommander(argv), { command: fast.command, flags: fast.flags }, JSON.stringify(argv));
    }),
    { numRuns: 3000 },
  );
  assert.ok(taken > 300, `only ${taken} of 3000 generated command lines were taken`);
});

test('fast-args takes the usual command lines', async () => {
  for (const argv of [
    ['inject', '-f', 'app.yaml'],
    ['inject', '-f=app.yaml', '-o', 'json', '--report=json', '-n', 'prod', '--policy', '--kube-version', 'v1.30.2', '--capture-mode', 'cni'],
    ['inject', '--filename', '-', '--templates', 'dir', '--values', 'v.yaml', '--config', 'c.yaml'],
    ['uninject', '-f', 'a.yaml', '-f', 'b.yaml', '-ojson'],
  ]) {
    const fast = parseFastArgs(argv);
    assert.ok(fast !== undefined, JSON.stringify(argv));
    assert.deepEqual(await viaCommander(argv), { command: fast.command, flags: fast.flags });
  }
  for (const argv of [['inject'], ['inject', '-f'], ['inject', '-f', 'a', 'extra'], ['inject', '--help'], ['inject', '-f', 'a', '-o', 'xml'], ['webhook'], ['-V']]) {
    assert.equal(parseFastArgs(argv), undefined, JSON.stringify(argv));
  }
});
