// `pillion inject` over every manifest of the shared corpus (../shared/corpus/manifests beside
// the clone): exit 0, each workload injected or skipped with a reason, non-workload documents
// byte-identical, output parses, injected pod templates carry the proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findWorkloads } from '../../../injector/cli/workloads.js';
import { parseStream } from '../../../injector/cli/stream.js';
import { manifestFiles, requireSharedCorpusInCI, sharedCorpusDir } from '../../support/corpus.js';
import { repoRoot } from '../../support/paths.js';
import { runPillion } from './run-pillion.js';

interface ReportRow {
  document: number;
  kind: string;
  name: string;
  decision: string;
  reason: string | null;
  detail: string | null;
}

test('pillion inject handles every corpus manifest', (t) => {
  if (!requireSharedCorpusInCI()) {
    const reason = `corpus folder ${sharedCorpusDir} is missing`;
    console.error(`# skipping: ${reason}`);
    t.skip(reason);
    return;
  }
  const files = manifestFiles(sharedCorpusDir);
  assert.ok(files.length > 0, 'the corpus has manifests');
  for (const file of files) {
    const name = basename(file);
    const path = relative(repoRoot, file);
    const input = readFileSync(file, 'utf8');
    const run = runPillion(['inject', '-f', path, '--report', 'json']);
    assert.equal(run.status, 0, `${name}: ${run.stderr}`);
    const report = JSON.parse(run.stderr) as ReportRow[];
    for (const row of report) {
      assert.ok(row.decision === 'injected' || (row.decision === 'skipped' && row.reason !== null && row.detail !== null), `${name}: ${JSON.stringify(row)}`);
    }
    const inputStream = parseStream(name, input);
    const outputStream = parseStream(name, run.stdout);
    assert.equal(outputStream.documents.length, inputStream.documents.length, `${name}: same number of documents`);
    let workloadCount = 0;
    inputStream.documents.forEach((doc, i) => {
      const out = outputStream.documents[i]!;
      assert.equal(out.doc.errors.length, 0, `${name}: output document ${i + 1} parses`);
      const { workloads } = findWorkloads(doc.doc.toJS());
      workloadCount += workloads.length;
      const injected = report.filter((r) => r.document === doc.index && r.decision === 'injected');
      if (injected.length === 0) {
        assert.equal(out.text, doc.text, `${name}: document ${doc.index} must be byte-identical`);
        return;
      }
      const value = out.doc.toJS() as unknown;
      for (const w of findWorkloads(value).workloads) {
        let template: unknown = value;
        for (const key of w.templatePath) template = (template as Record<string | number, unknown>)[key];
        const containers = ((template as { spec: { containers?: { name: string }[]; initContainers?: { name: string }[] } }).spec);
        const names = [...(containers.containers ?? []), ...(containers.initContainers ?? [])].map((c) => c.name);
        assert.ok(names.includes('pillion-proxy'), `${name}: ${w.kind}/${w.name} carries the proxy`);
      }
    });
    assert.equal(report.length, workloadCount, `${name}: one report row per workload`);
    assert.ok(!('empty' in parseAllDocuments(run.stdout)), `${name}: output is YAML`);
  }
});
