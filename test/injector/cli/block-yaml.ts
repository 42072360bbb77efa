// Block YAML documents printed from trees, for the tests that compare readers on generated texts
// (block-reader.test.ts: the line reader against the yaml library; kube-yaml.test.ts: Pillion's
// reading against kubectl's).

/** A document's content: a scalar's text as written (quotes included), null (nothing), a map or a sequence. */
export type Tree = string | null | { readonly map: readonly (readonly [string, Tree])[] } | { readonly seq: readonly Tree[] };

/** How a tree is laid out. `blanks` and `comments` say, by the number of lines so far, where a blank line or an end-of-line comment goes. */
export interface Style {
  /** The indentation step. */
  readonly step: number;
  /** Sequences under a key at the key's column (`key:\n- item`) rather than indented. */
  readonly flush: boolean;
  /** A map in a sequence starts on the entry's line (`- key: value`). */
  readonly compact: boolean;
  readonly blanks: readonly boolean[];
  readonly comments: readonly boolean[];
}

/** Appends the lines of `tree` at `column` to `out`; `prefix`, when not empty, starts its first line (a compact entry's `- `). */
export function printTree(tree: Tree, column: number, style: Style, out: string[], prefix: string): void {
  const pad = ' '.repeat(column);
  const note = (): string => (style.comments[out.length % style.comments.length] === true ? '  # note' : '');
  if (tree === null || typeof tree === 'string') {
    out.push(`${prefix === '' ? pad : prefix}${tree ?? ''}${tree === null ? '' : note()}`);
    return;
  }
  if ('map' in tree) {
    tree.map.forEach(([key, value], i) => {
      const head = i === 0 && prefix !== '' ? prefix : pad;
      if (value === null || typeof value === 'string') out.push(`${head}${key}: ${value ?? ''}${value === null ? '' : note()}`);
      else {
        out.push(`${head}${key}:`);
        const seqFlush = 'seq' in value && style.flush;
        printTree(value, seqFlush ? column : column + style.step, style, out, '');
      }
      if (style.blanks[out.length % style.blanks.length] === true) out.push('');
    });
    return;
  }
  tree.seq.forEach((item, i) => {
    const head = i === 0 && prefix !== '' ? prefix : `${pad}- `;
    if (item === null || typeof item === 'string') out.push(`${head}${item ?? ''}${item === null ? '' : note()}`);
    else if ('map' in item && style.compact) printTree(item, column + 2, style, out, head);
    else {
      out.push(head.trimEnd());
      printTree(item, column + style.step, style, out, '');
    }
  });
}
