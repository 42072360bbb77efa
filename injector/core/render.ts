// Template rendering: values go into the PARSED template tree as data. Nothing is ever spliced into
// YAML text and substituted text is never scanned again, so a value (which may come from a pod
// annotation) cannot add a field, a container or a volume, whatever characters it holds.
//
// Reference forms, inside any string scalar of a template:
//   "${values.proxy.image}"      whole scalar → the referenced value with its type (number, list, map…)
//   "${string:values.ports.x}"   whole scalar → String(value) (Kubernetes wants strings in args/env)
//   "${json:data.bootstrap}"     whole scalar → the (rendered) value as compact JSON text
//   "port ${values.ports.x}/tcp" inside a longer string → the scalar's text, substituted once
//   "$${"                        a literal "${" (e.g. haproxy's own "${VAR}" syntax)
import { SetupError } from './errors.js';
import { cloneJson, isPlainObject } from './json.js';
import type { JsonObject } from './types.js';

/** What references can reach: `values.*`, `data.*`, `capture.*`. */
export type RenderScope = Readonly<Record<string, unknown>>;

const wholeReference = /^\$\{(?:(json|string):)?([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\}$/;
const embeddedReference = /\$\$\{|\$\{([^}]*)\}/g;
const referencePath = /^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*$/;

/** Render a template tree. Returns a new tree; neither the template nor the scope is modified. */
export function renderTree(node: unknown, scope: RenderScope, where: string): unknown {
  if (typeof node === 'string') return renderString(node, scope, where);
  if (Array.isArray(node)) return node.map((item, i) => renderTree(item, scope, `${where}[${i}]`));
  if (isPlainObject(node)) {
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) out[key] = renderTree(value, scope, `${where}.${key}`);
    return out;
  }
  return node;
}

function renderString(text: string, scope: RenderScope, where: string): unknown {
  if (!text.includes('${')) return text;
  const whole = wholeReference.exec(text);
  if (whole !== null) {
    const [, mode, path = ''] = whole;
    const value = resolveReference(scope, path, where);
    if (mode === 'json') return JSON.stringify(value);
    if (mode === 'string') return scalarText(value, path, where);
    return cloneJson(value);
  }
  // String.replace does not rescan what the callback returns: a value holding "${...}" stays text.
  return text.replace(embeddedReference, (match: string, path: string | undefined) => {
    if (match === '$${') return '${';
    const trimmed = (path ?? '').trim();
    if (!referencePath.test(trimmed)) throw new SetupError(`${where}: "${match}" is not a reference like \${values.a.b}`);
    return scalarText(resolveReference(scope, trimmed, where), trimmed, where);
  });
}

function scalarText(value: unknown, path: string, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new SetupError(`${where}: \${${path}} is not a scalar and cannot be part of a string`);
}

function resolveReference(scope: RenderScope, path: string, where: string): unknown {
  let current: unknown = scope;
  for (const part of path.split('.')) {
    if (!isPlainObject(current) || !Object.hasOwn(current, part)) {
      throw new SetupError(`${where}: \${${path}} does not exist`);
    }
    current = current[part];
  }
  if (current === undefined) throw new SetupError(`${where}: \${${path}} does not exist`);
  return current;
}
