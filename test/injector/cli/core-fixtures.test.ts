// `pillion inject` over the injection core's own golden fixtures (test/fixtures/inject/): the CLI
// must print exactly what the core's expected outcome says. Cases that need the same flags run in
// one process (several -f files); cases that must fail run alone, since one failure stops a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { repoRoot } from '../../support/paths.js';
import { fixturesDir, listFixtureCases } from '../core/fixture-support.js';
import { runPillion } from './run-pillion.js';

interface CliCase {
  readonly name: string;
  readonly inputFile: string;
  readonly inputText: string;
  readonly flags: readonly string[];
  readonly expectedYaml: string | undefined;
  readonly expectedTxt: string | undefined;
  readonly warnings: readonly string[];
}

const scratch = mkdtempSync(join(tmpdir(), `pillion-cli-fixtures-${process.pid}-`));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

const unsupported: string[] = [];

function loadCase(name: string): CliCase | undefined {
  const dir = join(fixturesDir, name);
  const caseFile = join(dir, 'case.yaml');
  const spec = (existsSync(caseFile) ? parseYaml(readFileSync(caseFile, 'utf8')) : {}) as Record<string, unknown>;
  if (spec.namespaceLabels !== undefined) {
    // The CLI has no namespace objects to read labels from: such cases are webhook-only.
    unsupported.push(`${name}: namespaceLabels cannot be given to pillion inject`);
    return undefined;
  }
  const inputFile =
    typeof spec.inputFrom === 'string' ? join(fixturesDir, spec.inputFrom, 'expected.yaml') : join(dir, 'input.yaml');
  const inputText = readFileSync(inputFile, 'utf8');
  const metadata = ((parseYaml(inputText) as Record<string, unknown>).metadata ?? {}) as Record<string, unknown>;
  const flags: string[] = [];
  if (spec.mode === 'policy') flags.push('--policy');
  if (typeof spec.namespace === 'string') {
    if (metadata.namespace !== undefined && metadata.namespace !== spec.namespace) {
      unsupported.push(`${name}: case namespace differs from the pod's own (the CLI uses the pod's)`);
      return undefined;
    }
    flags.push('--namespace', spec.namespace);
  }
  if (typeof spec.config === 'string') {
    const configFile = join(scratch, `${name}.config.yaml`);
    writeFileSync(configFile, spec.config);
    flags.push('--config', configFile);
  }
  const read = (file: string): string | undefined => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : undefined);
  // Warnings are in warnings.txt for an injected case, after the reason and detail for a skipped one.
  const skippedText = read('expected.txt')?.startsWith('skipped:') === true ? read('expected.txt') : undefined;
  const warningLines = skippedText !== undefined ? skippedText.split('\n').slice(2) : (read('warnings.txt') ?? '').split('\n');
  const warnings = warningLines.filter((l) => l !== '').map((l) => l.replace(/^warning: /, ''));
  return { name, inputFile, inputText, flags, expectedYaml: read('expected.yaml'), expectedTxt: read('expected.txt'), warnings };
}

const cases = listFixtureCases().map(loadCase).filter((c): c is CliCase => c !== undefined);

test('the core fixtures are there and most of them run through the CLI', () => {
  assert.ok(cases.length >= 40, `only ${cases.length} core fixture cases found in ${fixturesDir}`);
  for (const reason of unsupported) console.error(`# not run through the CLI: ${reason}`);
  assert.ok(unsupported.length <= 5, `too many cases cannot run through the CLI: ${unsupported.join('; ')}`);
});

const failing = cases.filter((c) => c.expectedTxt?.startsWith('error:') === true);
const passing = cases.filter((c) => !failing.includes(c));

// Group the cases that succeed by their flags, one process per group.
const groups = new Map<string, CliCase[]>();
for (const c of passing) {
  // An input that already uses native sidecars makes pillion inject use them for the whole run:
  // such a case runs alone.
  const key = JSON.stringify(c.flags) + (/restartPolicy: Always/.test(c.inputText) ? ` ${c.name}` : '');
  groups.set(key, [...(groups.get(key) ?? []), c]);
}

interface ReportRow {
  file: string;
  document: number;
  name: string;
  namespace: string;
  decision: string;
  reason: string | null;
  detail: string | null;
  warnings: string[];
}

for (const [key, group] of groups) {
  test(`core fixtures through pillion inject ${key}: ${group.map((c) => c.name).join(', ')}`, () => {
    const args = ['inject', '--report', 'json', ...group.flatMap((c) => ['-f', relative(repoRoot, c.inputFile)]), ...group[0]!.flags];
    const run = runPillion(args);
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stderr) as ReportRow[];
    assert.equal(report.length, group.length, 'one report row per pod');
    const docs = parseAllDocuments(run.stdout);
    assert.ok(!('empty' in docs), 'no output');
    assert.equal(docs.length, group.length, 'one output document per input file');
    const expectedTexts: string[] = [];
    group.forEach((c, i) => {
      const row = report[i]!;
      assert.equal(row.file, relative(repoRoot, c.inputFile), `${c.name}: report order`);
      assert.deepEqual(row.warnings, c.warnings, `${c.name}: warnings`);
      const out = docs[i]!.toJS() as unknown;
      if (c.expectedYaml !== undefined) {
        assert.equal(row.decision, 'injected', `${c.name}: decision`);
        assert.deepEqual(out, parseYaml(c.expectedYaml), `${c.name}: injected pod differs from expected.yaml`);
        expectedTexts.push(c.expectedYaml);
      } else {
        const [first, second] = (c.expectedTxt ?? '').split('\n');
        assert.equal(`skipped: ${row.reason}`, first, `${c.name}: skip reason`);
        assert.equal(row.detail, second, `${c.name}: skip detail`);
        assert.deepEqual(out, parseYaml(c.inputText), `${c.name}: a skipped pod must be unchanged`);
        expectedTexts.push(c.inputText);
      }
    });
    // Bytes too: skipped inputs come out untouched and injected pods are serialised the way the
    // fixtures store them, so the whole stdout is the expected files joined as one stream.
    assert.equal(run.stdout, expectedTexts.join('---\n'));
  });
}

for (const c of failing) {
  test(`core fixture ${c.name} fails pillion inject with exit 1`, () => {
    const file = relative(repoRoot, c.inputFile);
    const run = runPillion(['inject', '-f', file, ...c.flags]);
    assert.equal(run.status, 1, run.stderr);
    assert.equal(run.stdout, '', 'nothing on stdout when a document fails');
    const [, message] = (c.expectedTxt ?? '').split('\n');
    const annotation = (c.expectedTxt ?? '').split('\n')[0]!.replace(/^error: /, '');
    // The line the CLI names is the offending annotation's (or label's) own line.
    const lines = c.inputText.split('\n');
    const line = annotation === '-' ? undefined : lines.findIndex((l) => l.trimStart().startsWith(`${annotation}:`)) + 1;
    const where = line === undefined || line === 0 ? 'document 1 \\(line \\d+\\)' : `document 1 \\(line ${line}\\)`;
    assert.match(run.stderr, new RegExp(`^pillion inject: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${where}: `));
    assert.ok(run.stderr.includes(message!), `stderr names the core's message: ${run.stderr}`);
  });
}
