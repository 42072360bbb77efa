// Kubernetes label-selector semantics (metav1.LabelSelector), enough to evaluate a webhook's
// namespaceSelector and objectSelector the way the API server does, instead of string-matching
// the manifest. Subtle points kept from Kubernetes: requirements are ANDed; NotIn and
// DoesNotExist match objects that lack the key; an absent or empty selector matches everything.

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

/** A malformed selector the API server would reject; a test must not evaluate it silently. */
export class SelectorError extends Error {
  override name = 'SelectorError';
}

function checkRequirement(req: LabelSelectorRequirement): void {
  const values = req.values ?? [];
  if (typeof req.key !== 'string' || req.key === '') throw new SelectorError('requirement without a key');
  switch (req.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) throw new SelectorError(`${req.key} ${req.operator}: values must be non-empty`);
      for (const v of values) {
        if (typeof v !== 'string') throw new SelectorError(`${req.key} ${req.operator}: value ${JSON.stringify(v)} is not a string`);
      }
      return;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length !== 0) throw new SelectorError(`${req.key} ${req.operator}: values must be empty`);
      return;
    default:
      throw new SelectorError(`${req.key}: unknown operator ${JSON.stringify((req as { operator: unknown }).operator)}`);
  }
}

function matchesRequirement(req: LabelSelectorRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return has && values.includes(value as string);
    case 'NotIn':
      return !has || !values.includes(value as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/** Whether `labels` satisfy `selector` (undefined/null selector: match everything). */
export function matchesSelector(selector: LabelSelector | null | undefined, labels: Labels): boolean {
  if (selector === null || selector === undefined) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (typeof value !== 'string') throw new SelectorError(`matchLabels ${key}: value is not a string (quote it)`);
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    checkRequirement(req);
    if (!matchesRequirement(req, labels)) return false;
  }
  return true;
}
