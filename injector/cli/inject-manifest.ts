// The `pillion inject` document pipeline: manifest text in, manifest text (or JSON) plus a
// per-workload report out. No I/O here, so the bench and the tests run exactly what the CLI runs.
//
// Every workload's pod template goes through the injection core as a pod; the core alone decides.
// Documents without a workload are emitted as their original bytes. A problem in any document
// (YAML error, invalid annotation, workload without a template) fails the whole run: nothing is
// printed, so a `| kubectl apply -f -` pipeline never applies half a manifest.
import { isDeepStrictEqual } from 'node:util';
import { isAlias, isMap, isNode, isPair, isSeq, isScalar, Scalar } from 'yaml';
import type { Document, Node } from 'yaml';
import { InjectionError } from '../core/errors.js';
import { annotationPrefix } from '../core/overrides.js';
import { reportOf } from '../core/report.js';
import type { InjectContext, InjectResult, JsonObject, PodReport, UninjectResult } from '../core/types.js';
import { collectExactIntegers, InexactIntegerError, restoreExactIntegers, stringifyExact, type ExactIntegers, type IntegerPlace } from './exact-integers.js';
import { KubeYamlError, forEachNode, isMergeKey, pairKeyString, toKubeValue } from './kube-yaml.js';
import { lineAt, parseStream } from './stream.js';
import type { ParsedStream, StreamDocument } from './stream.js';
import { spliceDocument } from './splice.js';
import { syncDocument } from './sync-node.js';
import { findWorkloads, isList, readPath } from './workloads.js';
import { isExactJson, type JsonValue } from './json-reader.js';
import { startsAsJson } from './input.js';
import { isPlainObject } from '../core/json.js';
import type { Path, WorkloadLocation } from './workloads.js';

/** The injection core as the pipeline calls it (injectPod with its setup bound, or uninjectPod). */
export type InjectFn = (pod: JsonObject, ctx: InjectContext) => InjectResult | UninjectResult;

export interface ManifestInput {
  /** Name used in reports and errors (`<stdin>` for standard input). */
  readonly file: string;
  readonly text: string;
  /** What JSON.parse read from a file kubectl reads as JSON (input.ts), so that it is not parsed twice. */
  readonly json?: readonly JsonValue[];
}

export interface PipelineOptions {
  readonly mode: InjectContext['mode'];
  /** Namespace for objects whose metadata names none (`--namespace`); else `default`. */
  readonly namespace: string | undefined;
  readonly output: 'yaml' | 'json';
}

/** One workload's decision (the core's report) and where the workload is. */
export interface WorkloadReport extends PodReport {
  readonly file: string;
  readonly document: number;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export interface ManifestProblem {
  readonly file: string;
  /** 1-based document index; undefined for a problem outside any document. */
  readonly document: number | undefined;
  readonly line: number | undefined;
  readonly message: string;
}

export type PipelineResult =
  | { readonly ok: true; readonly output: string; readonly reports: readonly WorkloadReport[] }
  | { readonly ok: false; readonly problems: readonly ManifestProblem[]; readonly reports: readonly WorkloadReport[] };

interface DocumentOutcome {
  /** The document's value after injection (unchanged value when nothing was injected). */
  readonly value: unknown;
  /** Output text for the YAML stream (the original bytes when nothing was injected). */
  readonly text: string;
}

/**
 * Offset of the YAML node at `path`: its key for a map entry. `found` is false when the path
 * stops early; `offset` is then the deepest node that exists (still a useful line to point at).
 */
function locate(doc: Document, path: Path): { offset: number | undefined; found: boolean } {
  let node = doc.contents;
  let offset = node?.range?.[0];
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => pairKeyString(p) === String(key));
      if (pair === undefined) return { offset, found: false };
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (item === undefined) return { offset, found: false };
      offset = item.range?.[0] ?? offset;
      node = item;
    } else return { offset, found: false };
  }
  return { offset, found: true };
}

function nodeOffset(doc: Document, path: Path): number | undefined {
  return locate(doc, path).offset;
}

/** Where the annotation an InjectionError names is written: an annotation, else a label. */
function annotationOffset(doc: Document, templatePath: Path, annotation: string | undefined): number | undefined {
  if (annotation === undefined) return nodeOffset(doc, templatePath);
  const asAnnotation = locate(doc, [...templatePath, 'metadata', 'annotations', annotation]);
  if (asAnnotation.found) return asAnnotation.offset;
  const asLabel = locate(doc, [...templatePath, 'metadata', 'labels', annotation]);
  return asLabel.found ? asLabel.offset : asAnnotation.offset;
}

function podFromTemplate(template: JsonObject, isPod: boolean): JsonObject {
  if (isPod) return template;
  // The core sees a pod: the template's metadata and spec under the usual pod envelope.
  return { apiVersion: 'v1', kind: 'Pod', metadata: isPlainObject(template.metadata) ? template.metadata : {}, spec: template.spec };
}

function writeBack(template: JsonObject, pod: JsonObject, isPod: boolean): JsonObject {
  if (isPod) return pod;
  const updated: JsonObject = { ...template, spec: pod.spec };
  const metadata = isPlainObject(pod.metadata) ? pod.metadata : {};
  // Do not add an empty `metadata: {}` to a template that had none; uninjection can remove it.
  if (!Object.hasOwn(pod, 'metadata')) delete updated.metadata;
  else if (template.metadata !== undefined || !isDeepStrictEqual(metadata, {})) updated.metadata = metadata;
  return updated;
}

function setPath(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root) && typeof head === 'number') {
    const copy = [...(root as unknown[])];
    copy[head] = setPath(copy[head], rest, value);
    return copy;
  }
  const object = root as JsonObject;
  return { ...object, [head as string]: setPath(object[head as string], rest, value) };
}

/**
 * Whether the author wrote block sequences flush with their key (`key:\n- item`, kubectl's and
 * most hand-written manifests' style) rather than indented; the re-serialised body follows suit.
 */
function hasFlushSequences(text: string): boolean {
  return /^( *)[^\s#-][^\n]*:[ \t]*\r?\n\1- /m.test(text);
}

/** Whether a document body is JSON (a JSON manifest): its injected body is then written as JSON. */
function isJsonBody(body: string): boolean {
  if (!body.startsWith('{')) return false;
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

/** `value` as JSON laid out like `original` (one line, or its indentation), trailing space kept; integers past 2^53 as the input wrote them. */
function jsonBody(original: string, value: unknown, integers: ExactIntegers, negativeZero = false): string {
  const trimmed = original.trimEnd();
  const indent = /\n([ \t]+)\S/.exec(trimmed)?.[1];
  const text = stringifyExact(value, integers, trimmed.includes('\n') ? (indent ?? 2) : undefined, negativeZero);
  return text + original.slice(trimmed.length);
}

/** A JSON file (a document that is the whole file) with `value` for its body, laid out like the file's own, CRLF line breaks kept. */
function renderJsonFile(text: string, value: unknown): string {
  const bodyStart = text.indexOf('{');
  const body = jsonBody(text.slice(bodyStart), value, new Map());
  // JSON.stringify writes no line break inside a string (it escapes them): each one is layout.
  return text.slice(0, bodyStart) + (text.includes('\r\n') ? body.replace(/\r?\n/g, '\r\n') : body);
}

/** The document's body as YAML, without the parts that live in the kept prefix and suffix bytes. */
function yamlBody(doc: Document, originalBody: string): string {
  // These comments live in the kept prefix/suffix bytes; printing them again would duplicate them.
  doc.commentBefore = null;
  doc.comment = null;
  const root = doc.contents;
  if (root !== null) {
    root.commentBefore = null;
    // A root anchor or tag (`--- &base`, `--- !!map`) is written before the body's range: it is
    // in the prefix already.
    root.anchor = undefined;
    root.tag = undefined;
    // A comment above the first key belongs to that key but sits before the body's range, in the
    // kept prefix: printed again it would double on every run (inject, re-inject, uninject).
    if ((isMap(root) || isSeq(root)) && !originalBody.trimStart().startsWith('#')) {
      const first = root.items[0];
      const node = isPair(first) ? first.key : first;
      if (isNode(node)) node.commentBefore = null;
    }
  }
  if (doc.directives !== undefined) doc.directives.docEnd = false;
  return doc.toString({ directives: false, lineWidth: 0, flowCollectionPadding: false, indentSeq: !hasFlushSequences(originalBody) });
}

/** The author's indentation step: how much deeper a map's keys sit than the key that holds it (2 when none shows). */
function indentStep(text: string): number {
  const step = /^( *)[^\s#-][^\n]*:[ \t]*\r?\n\1( +)[^\s#-]/m.exec(text)?.[2]?.length ?? 2;
  return step <= 8 ? step : 2;
}

/** Whether `text` is one document that kubectl reads as exactly `value`. */
function readsBackAs(text: string, value: unknown): boolean {
  const check = parseStream('<output>', text);
  const only = check.documents[0];
  if (check.documents.length !== 1 || only === undefined || only.doc.errors.length > 0) return false;
  try {
    return isDeepStrictEqual(toKubeValue(only.doc), value);
  } catch {
    return false;
  }
}

/**
 * Whether a node of `doc` takes its meaning from another node or from an explicit tag: an anchor,
 * an alias, a merge key, a tag. Without any, every node of a rewritten document means what it
 * holds: the schema writes each scalar so that kubectl reads back what was written (kube-yaml.ts),
 * so the printed document needs no reading back. With one, a kept alias can point at a changed
 * anchor, a merge key is replaced by the keys it merged, a tagged scalar prints its own source.
 */
function hasLinkedNodes(doc: Document, text: string): boolean {
  // Each of these is written with its indicator character; a text without any has none of them.
  if (!/[&*!]|<</.test(text)) return false;
  let linked = false;
  forEachNode(doc.contents, (node) => {
    if (isAlias(node) || node.anchor !== undefined || node.tag !== undefined) linked = true;
    else if (isMap(node) && node.items.some((pair) => isMergeKey(pair.key))) linked = true;
  });
  return linked;
}

/**
 * Whether `doc` holds a folded block scalar (`>`). The yaml library's printer can write one with a
 * more-indented line and a comment near it so that it reads back with one more line break (found
 * by a longer run of rewrite.test.ts's generator), so a re-printed document with one is read back.
 * The splice keeps such a scalar's bytes unless its own entry changed.
 */
function hasFoldedScalars(doc: Document, text: string): boolean {
  if (!text.includes('>')) return false;
  let folded = false;
  forEachNode(doc.contents, (node) => {
    if (isScalar(node) && node.type === Scalar.BLOCK_FOLDED) folded = true;
  });
  return folded;
}

/**
 * The text of an injected document. Spliced where it can be (splice.ts: only the changed entries
 * printed, into the document's own bytes); else re-serialised in place of its body, keeping the
 * bytes around the body (leading comments, directives, `---`, root anchor or tag, trailing
 * comments, `...`) exactly as they were, and the body's line breaks (CRLF stays CRLF). A JSON body
 * is written as JSON. A
 * rewrite that may not mean exactly the injected value (JSON, linked nodes, the plain fallback) is
 * read back as kubectl reads it: one that does not (anchors shared with changed parts) gives way to
 * a plain one. Reading back is most of the work on large inputs (the output holds a proxy per
 * workload), so a comment-keeping rewrite of a document without linked nodes, whose body starts
 * a line, ends with a line break and holds no folded block scalar, is not read back, nor is a
 * splice; test/injector/cli/rewrite.test.ts and splice.test.ts read back every output of the
 * corpus, of generated documents and of the edge cases to show that it holds.
 */
function renderInjected(stream: ParsedStream, item: StreamDocument, value: unknown, newValue: unknown): string {
  // A JSON file read by JSON.parse: printed by JSON.stringify, which kubectl reads back as the
  // value wherever isExactJson holds; else the ways below, with the yaml library's reading.
  if (item.value !== undefined && isExactJson(newValue)) return renderJsonFile(item.text, newValue);
  // From here on the document holds built nodes too, not only parsed ones.
  const doc = item.doc as unknown as Document;
  const range = doc.contents?.range;
  if (range === undefined || range === null) throw new Error('internal: injected document has no body');
  const bodyStart = range[0] - item.offset;
  const bodyEnd = range[2] - item.offset;
  const originalBody = item.text.slice(bodyStart, bodyEnd);
  const json = isJsonBody(originalBody);
  const integers: ExactIntegers = new Map();
  if (json) collectExactIntegers(item.doc, item.text, integers, placeIn(stream, item));
  const crlf = originalBody.includes('\r\n') || (!originalBody.includes('\n') && item.text.includes('\r\n'));
  // First, only the changed entries printed into the document's own bytes (splice.ts): most of a
  // large document is never printed again. Not where nodes share values (anchors, merge keys,
  // tags); a JSON body (a flow root) is never spliced.
  const linked = hasLinkedNodes(doc, item.text);
  if (!linked) {
    const style = { step: indentStep(originalBody), indentSeq: !hasFlushSequences(originalBody), lineBreak: crlf ? '\r\n' : '\n' } as const;
    try {
      const spliced = spliceDocument(item.text, item.offset, doc.contents, value, newValue, style);
      if (spliced !== undefined) return spliced;
    } catch {
      // printed again below
    }
  }
  // The last way below prints the value, whose numbers past 2^53 have lost digits the input's
  // nodes keep; noted before the second way changes those nodes (`commented` may be `doc`).
  if (!json) collectExactIntegers(item.doc, item.text, integers, placeIn(stream, item));
  // Printed again: the yaml library's own reading of the document, with its comments.
  const commented = item.commented() as unknown as Document;
  const prefix = item.text.slice(0, bodyStart);
  // A root indented as a whole (`  kind: Pod`): the indent is before the body's range, and yaml
  // prints the body from column 0, so a printed body goes in place of the indent too.
  const yamlPrefix = prefix.replace(/(^|\n)[ \t]+$/, '$1');
  // The texts to try for a printed body: without the final line break the original body lacked
  // (a file without one keeps it that way), then with it, which a keep-chomped block scalar (`|+`)
  // last in the body needs (read back, so only a text that means the value is taken).
  const finish = (generated: string, kept: string): string[] => {
    const variants = !originalBody.endsWith('\n') && generated.endsWith('\n') ? [generated.slice(0, -1), generated] : [generated];
    return variants.map((body) => kept + (crlf ? body.replace(/\r?\n/g, '\r\n') : body) + item.text.slice(bodyEnd));
  };
  // Decided before the rewrite changes the tree. The printed body needs reading back too when it
  // shares its first line with the prefix (`--- {`) or has no final line break, which `finish`
  // then takes off the printed body: meaningful in a keep-chomped block scalar (`|+`).
  const plainSplice = /(^|\n)$/.test(yamlPrefix) && originalBody.endsWith('\n');
  const syncNeedsReadBack = !plainSplice || linked || hasFoldedScalars(commented, item.text);
  const attempts: { readonly readBack: boolean; readonly run: () => string[] | undefined }[] = [
    // A value read by the yaml library may hold -0 (from `-0.0`), which JSON.parse's reading never does.
    { readBack: true, run: () => (json ? finish(jsonBody(originalBody, newValue, integers, true), prefix) : undefined) },
    { readBack: syncNeedsReadBack, run: () => (syncDocument(commented, newValue) ? finish(yamlBody(commented, originalBody), yamlPrefix) : undefined) },
    {
      readBack: true,
      run: () => {
        commented.contents = commented.createNode(newValue, { aliasDuplicateObjects: false });
        restoreExactIntegers(commented.contents, integers);
        return finish(yamlBody(commented, originalBody), yamlPrefix);
      },
    },
  ];
  // A JSON body of a file kubectl reads as JSON gets JSON or nothing: YAML written there would not be read.
  for (const attempt of json && startsAsJson(stream.source) ? attempts.slice(0, 1) : attempts) {
    let texts: string[] | undefined;
    try {
      texts = attempt.run();
    } catch (error) {
      // No other way writes those integers exactly either.
      if (error instanceof InexactIntegerError) throw error;
      // e.g. an alias left pointing at an anchor the rewrite replaced: try the next way.
      continue;
    }
    for (const text of texts ?? []) if (!attempt.readBack || readsBackAs(text, newValue)) return text;
  }
  throw new Error(`internal: injected document ${item.index} of ${item.text.length} bytes does not read back as the injected value`);
}

/** What the whole input shows about the cluster, gathered before any workload is decided. */
interface InputFacts {
  /** Labels of the Namespace objects in the input, by name (what --policy reads). */
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Some pod template has an init container with restartPolicy: Always: the cluster has native sidecars. */
  readonly nativeSidecarsInUse: boolean;
}

function stringLabels(value: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!isPlainObject(value)) return labels;
  for (const [key, label] of Object.entries(value)) if (typeof label === 'string') labels[key] = label;
  return labels;
}

function collectFacts(values: readonly unknown[]): InputFacts {
  const namespaceLabels = new Map<string, Record<string, string>>();
  let nativeSidecarsInUse = false;
  const visit = (value: unknown): void => {
    if (!isPlainObject(value)) return;
    if (isList(value)) {
      for (const item of value.items as unknown[]) visit(item);
      return;
    }
    if (value.kind === 'Namespace' && (value.apiVersion === 'v1' || value.apiVersion === undefined)) {
      const metadata = isPlainObject(value.metadata) ? value.metadata : {};
      if (typeof metadata.name === 'string') namespaceLabels.set(metadata.name, stringLabels(metadata.labels));
    }
  };
  for (const value of values) {
    visit(value);
    for (const workload of findWorkloads(value).workloads) {
      const spec = (readPath(value, workload.templatePath) as JsonObject).spec as JsonObject;
      const init = Array.isArray(spec.initContainers) ? spec.initContainers : [];
      if (init.some((c) => isPlainObject(c) && c.restartPolicy === 'Always')) nativeSidecarsInUse = true;
    }
  }
  return { namespaceLabels, nativeSidecarsInUse };
}

/** pillion.dev/ keys on a workload's own metadata, which the pod (and so Pillion) never sees. */
function ignoredWorkloadKeys(object: JsonObject, kind: string, templateField: string): string[] {
  const metadata = isPlainObject(object.metadata) ? object.metadata : {};
  const warnings: string[] = [];
  for (const [field, word] of [['annotations', 'annotation'], ['labels', 'label']] as const) {
    const map = metadata[field];
    if (!isPlainObject(map)) continue;
    for (const key of Object.keys(map).filter((k) => k.startsWith(annotationPrefix)).sort()) {
      warnings.push(`${word} ${key} on the ${kind}'s own metadata is ignored: Pillion reads the pod template's (${templateField}.metadata.${field})`);
    }
  }
  return warnings;
}

const tooDeep = 'the document is nested too deeply to read; no Kubernetes object is nested this deep';

function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/** A reading error in the user's terms: the YAML parser reports a stack overflow as such. */
function inUserTerms(message: string): string {
  return /Maximum call stack size exceeded/.test(message) ? tooDeep : message;
}

/** The value kubectl would send for a document, or undefined when it has errors (reported later). */
function documentValue(item: StreamDocument): unknown {
  if (item.value !== undefined) return item.value;
  if (item.doc.errors.length > 0) return undefined;
  try {
    return toKubeValue(item.doc, item.text);
  } catch (error) {
    if (!(error instanceof KubeYamlError) && !isStackOverflow(error)) throw error;
    return undefined;
  }
}

function processDocument(
  stream: ParsedStream,
  item: StreamDocument,
  options: PipelineOptions,
  facts: InputFacts,
  known: unknown,
  inject: InjectFn,
  reports: WorkloadReport[],
  problems: ManifestProblem[],
): DocumentOutcome | undefined {
  const problem = (offset: number | undefined, message: string): undefined => {
    const line = offset === undefined ? lineAt(stream, item.offset) : lineAt(stream, offset);
    problems.push({ file: stream.file, document: item.index, line, message });
    return undefined;
  };
  // A document whose value is known has no reading errors (documentValue).
  if (known === undefined && item.doc.errors.length > 0) {
    for (const error of item.doc.errors) problem(error.pos[0], inUserTerms(error.message));
    return undefined;
  }
  let value: unknown;
  try {
    // The value kubectl would send to the API server: what the core decides on.
    // Read once already (documentValue); undefined means it failed there: read again for the error.
    value = known !== undefined ? known : toKubeValue(item.doc, item.text);
  } catch (error) {
    if (isStackOverflow(error)) return problem(item.doc.contents?.range?.[0], tooDeep);
    if (!(error instanceof KubeYamlError)) throw error;
    return problem(error.offset ?? item.doc.contents?.range?.[0], error.message);
  }
  const { workloads, broken } = findWorkloads(value);
  for (const b of broken) problem(nodeOffset(item.doc, b.objectPath), b.problem);
  if (broken.length > 0) return undefined;

  let newValue = value;
  let injectedAny = false;
  const failed = problems.length;
  for (const workload of workloads) {
    const result = injectWorkload(stream, item, value, workload, options, facts, inject, reports, problem);
    if (result === undefined) continue;
    newValue = setPath(newValue, workload.templatePath, writeBack(readPath(value, workload.templatePath) as JsonObject, result, workload.templatePath.length === workload.objectPath.length));
    injectedAny = true;
  }
  if (problems.length > failed) return undefined;
  if (!injectedAny) return { value, text: item.text };
  // JSON output never needs the YAML text; skip the re-serialisation work.
  if (options.output !== 'yaml') return { value: newValue, text: '' };
  try {
    return { value: newValue, text: renderInjected(stream, item, value, newValue) };
  } catch (error) {
    if (!(error instanceof InexactIntegerError)) throw error;
    problems.push({ ...error.place, message: error.message });
    return undefined;
  }
}

/** Run one workload through the core; returns the injected pod, or undefined (skipped or failed). */
function injectWorkload(
  stream: ParsedStream,
  item: StreamDocument,
  value: unknown,
  workload: WorkloadLocation,
  options: PipelineOptions,
  facts: InputFacts,
  inject: InjectFn,
  reports: WorkloadReport[],
  problem: (offset: number | undefined, message: string) => undefined,
): JsonObject | undefined {
  const isPod = workload.templatePath.length === workload.objectPath.length;
  const template = readPath(value, workload.templatePath) as JsonObject;
  const namespace = workload.namespace ?? options.namespace ?? 'default';
  const ctx: InjectContext = {
    namespace,
    namespaceLabels: facts.namespaceLabels.get(namespace),
    mode: options.mode,
    nativeSidecarsInUse: facts.nativeSidecarsInUse,
  };
  // The template's place within the workload: spec.template, or spec.jobTemplate.spec.template in a CronJob.
  const templateField = workload.templatePath.slice(workload.objectPath.length).join('.');
  const ignored = isPod ? [] : ignoredWorkloadKeys(readPath(value, workload.objectPath) as JsonObject, workload.kind, templateField);
  let result: InjectResult | UninjectResult;
  try {
    result = inject(podFromTemplate(template, isPod), ctx);
  } catch (error) {
    if (!(error instanceof InjectionError)) throw error;
    return problem(annotationOffset(item.doc, workload.templatePath, error.annotation), error.message);
  }
  const report = reportOf(result);
  reports.push({ file: stream.file, document: item.index, kind: workload.kind, namespace, name: workload.name, ...report, warnings: [...ignored, ...report.warnings] });
  return result.kind === 'skipped' ? undefined : result.pod;
}

/** One input's share of the output: its documents' texts, as injected or kept. */
interface OutputPart {
  readonly texts: readonly string[];
  readonly stream: ParsedStream;
}

/**
 * The output of several inputs, read by every kubectl as the inputs are. JSON files alone make
 * one stream of JSON objects, which kubectl's JSON decoder reads. Otherwise one YAML stream: each
 * file starts a new document, a file with `%` directives after the previous one is closed with
 * `...`, the stream starts with `---` where a JSON file comes first (kubectl 1.32 and older read a
 * file that starts with `{` as JSON only), and a JSON file's objects are its documents, written
 * so that YAML reads them as JSON does (yamlReadableJson).
 */
function joinOutputs(parts: readonly OutputPart[]): string {
  const isJson = (part: OutputPart): boolean => part.stream.documents.length > 0 && startsAsJson(part.stream.source);
  const hasYaml = (part: OutputPart): boolean => !isJson(part) && (part.stream.documents.length > 0 || part.stream.orphanText.trim() !== '');
  const jsonParts = parts.filter(isJson).length;
  const bom = /^\uFEFF/;
  if (jsonParts > 1 && !parts.some(hasYaml)) {
    // One value after another, each on a line of its own; a byte order mark after the first
    // would stop kubectl's JSON decoder.
    let out = '';
    for (const part of parts.filter(isJson)) {
      const text = part.texts.join('');
      out += out === '' ? text : `${out.endsWith('\n') ? '' : '\n'}${text.replace(bom, '')}`;
    }
    return out;
  }
  const mixed = jsonParts > 0 && parts.some(hasYaml);
  const yamlDocument = (text: string, { file, documents }: ParsedStream, i: number): string => {
    try {
      return yamlReadableJson(text);
    } catch (error) {
      if (error instanceof UnjoinableJsonError) throw new UnjoinableJsonError(error.message, file, documents[i]?.index);
      throw error;
    }
  };
  let out = '';
  let outHasDocument = false;
  for (const part of parts) {
    const { stream } = part;
    const first = stream.documents[0];
    const json = mixed && isJson(part);
    const text = json ? part.texts.map((t, i) => yamlDocument(t, stream, i)).join('---\n') : part.texts.join('') + stream.orphanText;
    if (first !== undefined && (outHasDocument || json)) {
      if (out !== '' && !out.endsWith('\n')) out += '\n';
      // Directives may only follow a document that was closed with `...`.
      if (!json && outHasDocument && /^%/m.test(text.slice(0, first.doc.range[0]))) out += '...\n';
      else if (!/^---(\s|$)/.test(text)) out += '---\n';
    }
    out += text;
    outHasDocument ||= first !== undefined;
  }
  return out;
}

/** A JSON document that cannot be written into a YAML stream as it is. */
export class UnjoinableJsonError extends Error {
  override name = 'UnjoinableJsonError';
  constructor(
    message: string,
    readonly file?: string,
    readonly document?: number,
  ) {
    super(message);
  }
}

// go-yaml takes a key for a key only within 1024 characters of its start (a "simple key").
const longestYamlKey = 1024;

/**
 * The text of a JSON object as a YAML document that kubectl (go-yaml) reads as its JSON decoder
 * reads the object: on one line (a tab at a line's start, or a line break between a key and its
 * colon, stop go-yaml), escapes YAML lacks (`\/`, a surrogate pair, half of one, which Go's JSON
 * decoder reads as U+FFFD) written as YAML has them, and the characters YAML 1.1 takes for line
 * breaks (U+0085, U+2028, U+2029) or does not allow (DEL, C1, U+FFFE, U+FFFF) escaped: in JSON
 * they are only ever inside a string. A line break ends the text, for the `---` after it. A key
 * longer than go-yaml takes throws UnjoinableJsonError.
 */
export function yamlReadableJson(text: string): string {
  const escaped = text
    // White space outside strings dropped; strings kept as they are.
    .replace(/("(?:[^"\\]|\\.)*")|[ \t\r\n\uFEFF]+/g, (_space: string, string: string | undefined) => string ?? '')
    .replace(/\\(u[dD][89abAB][\da-fA-F]{2}\\u[dD][c-fC-F][\da-fA-F]{2}|u[dD][89a-fA-F][\da-fA-F]{2}|[^u]|u[\da-fA-F]{4})/g, (escape: string, body: string) => {
      if (body === '/') return '/';
      if (body.length === 11) return String.fromCharCode(Number.parseInt(body.slice(1, 5), 16), Number.parseInt(body.slice(7), 16));
      if (body.length === 5 && /^u[dD][89a-fA-F]/.test(body)) return '\\ufffd';
      return escape;
    })
    .replace(/[\u007F-\u009F\u2028\u2029\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  // Every string in turn (each match starts at an opening quote), a key when a colon follows.
  for (const [string, colon] of escaped.matchAll(/"(?:[^"\\]|\\.)*"(:?)/g)) {
    if (colon === ':' && string.length > longestYamlKey - 24) {
      throw new UnjoinableJsonError(`has a key of ${string.length - 3} characters, longer than kubectl's YAML reading takes in a YAML stream; give this JSON file to pillion inject without YAML files`);
    }
  }
  return `${escaped}\n`;
}

/** The objects of one document as `-o json` lists them: a List's items one by one. */
export function flattenForJson(value: unknown, into: unknown[]): void {
  // A List's items are applied as separate objects by kubectl; one flat List says the same.
  if (isPlainObject(value) && isList(value)) {
    for (const item of value.items as unknown[]) flattenForJson(item, into);
  } else into.push(value);
}

/** Where an offset of `item` is, as problems name it. */
function placeIn(stream: ParsedStream, item: StreamDocument): (offset: number) => IntegerPlace {
  return (offset) => ({ file: stream.file, document: item.index, line: lineAt(stream, offset) });
}

/**
 * Run the pipeline over every input, in order. `parse` reads each input into documents: the CLI's
 * parseStream; the tests give parseWithYaml too, the yaml library's reading alone, to show the
 * quicker readers change nothing.
 */
export function injectManifests(inputs: readonly ManifestInput[], options: PipelineOptions, inject: InjectFn, parse: typeof parseStream = parseStream): PipelineResult {
  const reports: WorkloadReport[] = [];
  const problems: ManifestProblem[] = [];
  const outputParts: OutputPart[] = [];
  const jsonItems: unknown[] = [];
  const integers: ExactIntegers = new Map();
  // Every document is read first: Namespaces and native sidecars anywhere in the input inform
  // the decisions on every workload in it.
  const streams = inputs.map((input) => parse(input.file, input.text, input.json));
  const values = new Map<StreamDocument, unknown>();
  for (const stream of streams) for (const item of stream.documents) values.set(item, documentValue(item));
  const facts = collectFacts([...values.values()]);
  for (const [i, input] of inputs.entries()) {
    const stream = streams[i] as ParsedStream;
    for (const error of stream.streamErrors) {
      problems.push({ file: input.file, document: undefined, line: lineAt(stream, error.offset), message: error.message });
    }
    const texts: string[] = [];
    for (const item of stream.documents) {
      const outcome = processDocument(stream, item, options, facts, values.get(item), inject, reports, problems);
      if (outcome === undefined) continue;
      texts.push(outcome.text);
      if (options.output === 'json' && outcome.value !== null && outcome.value !== undefined) {
        if (!isPlainObject(outcome.value)) {
          problems.push({
            file: input.file,
            document: item.index,
            line: lineAt(stream, item.doc.contents?.range?.[0] ?? item.offset),
            message: 'document is not an object; -o json can only list Kubernetes objects',
          });
          continue;
        }
        flattenForJson(outcome.value, jsonItems);
        // A JSON file read by JSON.parse has none past 2^53 (json-reader.ts).
        if (item.value === undefined) collectExactIntegers(item.doc, item.text, integers, placeIn(stream, item));
      }
    }
    outputParts.push({ texts, stream });
  }
  if (problems.length > 0) return { ok: false, problems, reports };
  let output: string;
  try {
    output = options.output === 'json' ? `${stringifyExact({ apiVersion: 'v1', kind: 'List', items: jsonItems }, integers, 2)}\n` : joinOutputs(outputParts);
  } catch (error) {
    if (error instanceof UnjoinableJsonError) return { ok: false, problems: [{ file: error.file ?? '', document: error.document, line: undefined, message: error.message }], reports };
    if (!(error instanceof InexactIntegerError)) throw error;
    return { ok: false, problems: [{ ...error.place, message: error.message }], reports };
  }
  return { ok: true, output, reports };
}
