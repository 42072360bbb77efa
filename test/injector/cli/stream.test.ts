// The document splitter: regions partition the source exactly, whatever the stream looks like.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseStream } from '../../../injector/cli/stream.js';

const pieces = [
  'a: 1\n', 'a: 1', '# comment\n', '---\n', '--- \n', '...\n', '%YAML 1.2\n', 'b:\n  - x\n  - y\n', '\n',
  'k: {x: 1}  # trailing\n', '- one\n- two\n', 'plain scalar\n', '--- # marker comment\n',
];

test('concatenating the document regions gives back the source, byte for byte', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (parts) => {
      const source = parts.join('');
      const stream = parseStream('p.yaml', source);
      const rebuilt = stream.documents.map((d) => d.text).join('') + stream.orphanText;
      assert.equal(rebuilt, source);
      stream.documents.forEach((d, i) => assert.equal(d.index, i + 1));
    }),
    { numRuns: 500 },
  );
});

test('leading comments and directives belong to the first document; `...` to the one it closes', () => {
  const source = '%YAML 1.2\n# lead\n---\na: 1\n...\n# between\n---\nb: 2\n';
  const stream = parseStream('p.yaml', source);
  assert.deepEqual(
    stream.documents.map((d) => d.text),
    ['%YAML 1.2\n# lead\n---\na: 1\n...\n', '# between\n---\nb: 2\n'],
  );
  const empty = parseStream('e.yaml', '# only a comment\n');
  assert.equal(empty.documents.length, 0);
  assert.equal(empty.orphanText, '# only a comment\n');
});
