// Shared helpers for init tests: fixtures and a readable transcript of recorded commands.
import { readFileSync } from 'node:fs';
import type { RecordedCall } from '../../init/exec/executor.js';
import { repoPath } from '../support/paths.js';

export function fixture(name: string): string {
  return readFileSync(repoPath('test', 'init', 'fixtures', name), 'utf8');
}

/** Every command with its stdin, as a golden-friendly transcript. */
export function transcript(calls: readonly RecordedCall[]): string {
  return calls
    .map((c) => `$ ${c.argv.join(' ')}\n${c.input === undefined || c.input === '' ? '' : `${c.input.replace(/\n$/, '').replace(/^/gm, '| ')}\n`}`)
    .join('');
}

export function collectLog(): { log: (line: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { log: (line) => lines.push(line), lines };
}
