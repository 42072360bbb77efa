// `pillion inject` does not read back a comment-keeping rewrite of a document without anchors,
// aliases, merge keys or tags (inject-manifest.ts, renderInjected): it relies on the kube schema
// writing every node so that kubectl reads back what was written. These tests read back every
// YAML output anyway, as kubectl reads it, and require exactly the value `-o json` gives for the
// same input: over every manifest of both corpora, the CLI fixtures, generated pod templates
// whose scalars take every style (plain, quoted, literal and folded blocks), with flow
// collections and comments, and the shapes where the printed body is spliced into kept bytes
// (an indented root, a body without a final line break).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Document, isMap, isScalar, isSeq, Scalar, visit } from 'yaml';
import type { Node } from 'yaml';
import { injectManifests } from '../../../injector/cli/inject-manifest.js';
import { kubeParseOptions } from '../../../injector/cli/kube-yaml.js';
import { parseStream } from '../../../injector/cli/stream.js';
import type { JsonObject } from '../../../injector/core/types.js';
import { corpusFiles, manifestFiles, requireSharedCorpusInCI, sharedCorpusDir } from '../../support/corpus.js';
import { repoPath } from '../../support/paths.js';
import { inject, injectAndReadBack } from './read-back.js';

test('every corpus manifest and CLI fixture: the YAML output reads back as -o json', (t) => {
  if (!requireSharedCorpusInCI()) t.diagnostic(`the shared corpus ${sharedCorpusDir} is missing: only the project's own corpus is read`);
  let injected = 0;
  let files = 0;
  for (const file of [...corpusFiles(), ...manifestFiles(repoPath('test', 'fixtures', 'inject-cli'))]) {
    const text = readFileSync(file, 'utf8');
    // The fixtures that must fail (bad YAML, bad annotations) have nothing to read back.
    if (!injectManifests([{ file, text }], { mode: 'candidate', namespace: undefined, output: 'json' }, inject).ok) continue;
    injected += injectAndReadBack(file, [{ file, text }]).injected;
    files++;
  }
  assert.ok(files >= 20 && injected >= 40, `read back ${files} files with ${injected} injected workloads`);
});

// ---- generated pod templates ----

/** Strings that stress quoting: YAML 1.1 look-alikes, indicators, spaces, line breaks, unicode. */
const tricky = fc.oneof(
  fc.constantFrom('yes', 'No', 'on', '~', 'null', '', '0400', '0x1F', '1_000', '1e3', '.5', '08', '1:20', '2002-12-14', '<<', '- a', '# x', 'a: b', '[x]', '{y}', '*z', '&w', '!t', '|', '>', "'", '"', '%d', '@', '`'),
  fc.string({ unit: fc.constantFrom('a', ' ', '\n', '\t', ':', '#', '-', '"', "'", '\\', '0', 'y', 'é', '\u2028', '\u00a0'), maxLength: 16 }),
  fc.string({ maxLength: 12 }),
);

const scalarStyles = [Scalar.PLAIN, Scalar.QUOTE_DOUBLE, Scalar.QUOTE_SINGLE, Scalar.BLOCK_LITERAL, Scalar.BLOCK_FOLDED] as const;

interface Styling {
  readonly styles: readonly number[];
  readonly flows: readonly boolean[];
  readonly comments: readonly (string | undefined)[];
}

/** A Deployment whose pod template carries the generated strings in annotations, env, args and a ConfigMap-like volume. */
function deployment(name: string, strings: readonly string[], numbers: readonly number[]): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations: Object.fromEntries(strings.map((s, i) => [`example.com/a${i}`, s])) },
    spec: {
      replicas: numbers[0] ?? 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { 'pillion.dev/inject': 'true', ...Object.fromEntries(strings.map((s, i) => [`note-${i}`, s])) } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'example.com/app:1',
              args: [...strings],
              env: strings.map((s, i) => ({ name: `V${i}`, value: s })),
              ports: numbers.map((n, i) => ({ name: `p${i}`, containerPort: n })),
            },
          ],
        },
      },
    },
  };
}

/** `value` printed with the kube schema, each node styled by the generated choices (in turn). */
function styledText(value: JsonObject, styling: Styling): string {
  const doc = new Document(value, kubeParseOptions);
  let i = 0;
  visit(doc, {
    Node: (_key, node: Node) => {
      const n = i++;
      const comment = styling.comments[n % styling.comments.length];
      if (comment !== undefined) node.commentBefore = comment;
      if (isScalar(node) && typeof node.value === 'string') node.type = scalarStyles[(styling.styles[n % styling.styles.length] ?? 0) % scalarStyles.length];
      if ((isMap(node) || isSeq(node)) && n > 6) node.flow = styling.flows[n % styling.flows.length] ?? false;
      return undefined;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

test('generated pod templates in every scalar style, flow collections and comments: the YAML output reads back as -o json', () => {
  const styling = fc.record({
    styles: fc.array(fc.nat(4), { minLength: 1, maxLength: 7 }),
    flows: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
    comments: fc.array(fc.option(fc.constantFrom(' note', ' a: b', ' - x', ''), { nil: undefined }), { minLength: 1, maxLength: 5 }),
  });
  let injected = 0;
  fc.assert(
    fc.property(fc.array(tricky, { maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: 3 }), styling, (strings, numbers, style) => {
      const text = styledText(deployment('gen', strings, numbers), style);
      // Not every styled print is a manifest kubectl accepts (the library may refuse a style):
      // only the ones that read back as the intended object are inputs.
      const input = parseStream('gen.yaml', text).documents[0];
      if (input === undefined || input.doc.errors.length > 0) return;
      injected += injectAndReadBack(`generated:\n${text}`, [{ file: 'gen.yaml', text }]).injected;
    }),
    { numRuns: 300, seed: 11 },
  );
  assert.ok(injected >= 250, `injected ${injected} generated workloads`);
});

// ---- where the printed body meets the kept bytes ----

const pod = (indent: string, eol = '\n'): string =>
  ['kind: Pod', 'apiVersion: v1', 'metadata: {name: x, annotations: {pillion.dev/inject: "true"}}', 'spec:', '  containers:', '  - {name: app, image: nginx}']
    .map((line) => indent + line)
    .join(eol);

test('an indented root, a body without a final line break, CRLF: the YAML output reads back as -o json', () => {
  const inputs = [
    pod(' ') + '\n',
    pod('    ') + '\n',
    `---\n${pod('  ')}\n`,
    `# leading comment\n${pod('   ')}\n---\n${pod('')}\n`,
    pod('  ', '\r\n') + '\r\n',
    pod(''),
    pod('  '),
    `${pod('')}\n...\n`,
    `${pod('')} # trailing comment`,
  ];
  for (const text of inputs) assert.equal(injectAndReadBack(JSON.stringify(text), [{ file: 'splice.yaml', text }]).injected, text.split('kind: Pod').length - 1, JSON.stringify(text));
});

test('a keep-chomped block scalar last in a file without a final line break: the YAML output reads back as -o json', () => {
  // The body ends inside the block's trailing lines: taking off the printed body's last line
  // break, as for any body without one, would change the value, so that text is read back and
  // the one with the line break is taken.
  for (const end of ['  ', '', '\n  ']) {
    const text = `kind: Pod\napiVersion: v1\nmetadata: {name: x, annotations: {pillion.dev/inject: "true"}}\nspec: {containers: [{name: app, image: nginx}]}\nz: |+\n  x\n\n${end}`;
    assert.equal(injectAndReadBack(JSON.stringify(text), [{ file: 'keep.yaml', text }]).injected, 1, JSON.stringify(text));
  }
});
