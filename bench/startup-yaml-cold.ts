// Helper of bench/startup-breakdown.ts, run as a fresh process: what the `yaml` package costs a
// cold process (nothing warmed, as in `pillion inject`) on one manifest file. Prints one JSON line:
// milliseconds since the process started at entry, for the import, for parseAllDocuments, for
// turning the documents into JavaScript (toJS) and back into text (toString).
//   node dist/bench/startup-yaml-cold.js FILE
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const atEntry = performance.now();
const file = process.argv[2];
if (file === undefined) throw new Error('usage: startup-yaml-cold.js FILE');
const text = readFileSync(file, 'utf8');
let t = performance.now();
const yaml = await import('yaml');
const importMs = performance.now() - t;
t = performance.now();
const docs = yaml.parseAllDocuments(text);
const parseMs = performance.now() - t;
t = performance.now();
const js = Array.isArray(docs) ? docs.map((d) => d.toJS() as unknown) : [];
const toJsMs = performance.now() - t;
t = performance.now();
const out = Array.isArray(docs) ? docs.map((d) => d.toString()).join('---\n') : '';
const toStringMs = performance.now() - t;
process.stdout.write(`${JSON.stringify({ atEntryMs: atEntry, importMs, parseMs, toJsMs, toStringMs, documents: js.length, outBytes: out.length })}\n`);
