// Rewrite a parsed YAML document so that it holds a new value, keeping the nodes (and so the
// comments, quoting and flow style) of every part that did not change.
//
// Injection changes a small part of a pod template; re-creating the whole document from plain
// data would throw away every comment the user wrote in it. Instead the old node tree is walked
// next to the new value: equal scalars keep their node, maps keep their pairs, sequences of named
// items (containers, volumes, ports) are matched by name so an inserted container does not shift
// the comments of the others. Whatever differs gets a fresh node.
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import { isDeepStrictEqual } from 'node:util';
import { isMergeKey, kubeNodeValue, pairKeyString } from './kube-yaml.js';
import { isPlainObject } from '../core/json.js';
import { nameOf } from '../core/merge.js';

// Shared sub-objects in the new value must not become YAML anchors and aliases.
const createOptions = { aliasDuplicateObjects: false } as const;

function syncMap(doc: Document, node: Node, value: Record<string, unknown>): Node {
  if (!isMap(node)) return doc.createNode(value, createOptions);
  // A merge key (`<<: *base`, not a quoted "<<") is not kept: the value already holds what it
  // merged, and every key is written out explicitly instead (same resulting object). With
  // duplicate keys the last one is what kubectl reads, so that is the pair kept.
  const byKey = new Map<string, Pair>();
  for (const pair of node.items) {
    const key = pairKeyString(pair);
    if (key !== undefined && !isMergeKey(pair.key)) byKey.set(key, pair);
  }
  // The new value's key order is the core's decision (it keeps the user's fields in place); a
  // reused pair carries its comments with it.
  const items: Pair[] = [];
  for (const [key, child] of Object.entries(value)) {
    const pair = byKey.get(key);
    if (pair === undefined) {
      items.push(doc.createPair(key, child, createOptions));
      continue;
    }
    pair.value = syncValue(doc, pair.value as Node | null, child);
    items.push(pair);
  }
  node.items = items;
  return node;
}

function syncSeq(doc: Document, node: Node, value: unknown[]): Node {
  if (!isSeq(node)) return doc.createNode(value, createOptions) as Node;
  const oldItems = node.items as (Node | null)[];
  const allNamed = value.length > 0 && value.every((v) => nameOf(v) !== undefined);
  if (allNamed) {
    const oldByName = new Map<string, Node>();
    for (const item of oldItems) {
      const name = isMap(item) ? item.get('name') : undefined;
      if (typeof name === 'string' && !oldByName.has(name)) oldByName.set(name, item as Node);
    }
    node.items = value.map((v) => {
      const old = oldByName.get(nameOf(v) as string);
      return old === undefined ? (doc.createNode(v, createOptions)) : syncValue(doc, old, v);
    });
    return node;
  }
  node.items = value.map((v, i) => syncValue(doc, oldItems[i] ?? null, v));
  return node;
}

/** Return a node equal to `value`, reusing `node` (mutated in place) where it already matches. */
export function syncValue(doc: Document, node: Node | null, value: unknown): Node {
  if (node !== null && isAlias(node)) {
    // Keep an alias only when what it points at still reads, for kubectl, as the wanted value.
    try {
      if (isDeepStrictEqual(kubeNodeValue(doc, node), value)) return node;
    } catch {
      // an alias kubectl could not read: replace it
    }
    return doc.createNode(value, createOptions);
  }
  if (Array.isArray(value)) return node === null ? (doc.createNode(value, createOptions) as Node) : syncSeq(doc, node, value);
  if (isPlainObject(value)) return node === null ? (doc.createNode(value, createOptions)) : syncMap(doc, node, value);
  if (node !== null && isScalar(node) && node.value === value) return node;
  return doc.createNode(value, createOptions);
}

/**
 * Make `doc` hold `value`. Returns false when the rewrite failed. The caller still checks what
 * the printed document reads as (anchors shared with changed parts can make it differ) and
 * re-creates the document from plain data when it is not exactly `value`.
 */
export function syncDocument(doc: Document, value: unknown): boolean {
  try {
    doc.contents = syncValue(doc, doc.contents, value);
    return true;
  } catch {
    return false;
  }
}
