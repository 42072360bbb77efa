// Paired, interleaved timing of whole processes for bench/startup.ts: every round runs each
// contestant of a row once, in an order rotated from round to round (so neither side always goes
// first, right after the other warmed the page cache), after one untimed warm-up round. The time
// is the wall clock from spawn to exit as seen by this process: start-up included.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { median, quantile } from './stats.js';

/**
 * The program users run for `command` in the checkout `root`: the shipped bundle's launcher
 * (package.json's bin, the init image's entrypoint; `npm run build` writes it), or, in a checkout
 * from before the bundles, its compiled entry point.
 */
export function pillionProgram(root: string, command: 'pillion' | 'pillion-init'): string {
  const bundle = join(root, 'dist', 'bundle', command, `${command}.js`);
  if (existsSync(bundle)) return bundle;
  return join(root, 'dist', command === 'pillion' ? 'injector' : 'init', 'bin', `${command}.js`);
}

export interface Contestant<C> {
  readonly name: string;
  /** Untimed set-up before each run (e.g. a fresh network namespace); its result goes to argv. */
  prepare(): C;
  argv(context: C): readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Untimed check and tear-down after each run (also on failure); `first` is the warm-up run. */
  finish?(context: C, first: boolean): void;
}

export interface Summary {
  readonly name: string;
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}


function summarise(name: string, samples: number[]): Summary {
  return { name, samplesMs: samples, medianMs: median(samples), minMs: Math.min(...samples), maxMs: Math.max(...samples) };
}

/** Run argv with stdout and stderr to `sink` (a file), return milliseconds; throw on failure. */
export function timeProcess(argv: readonly string[], env: NodeJS.ProcessEnv | undefined, sink: string): number {
  const fd = openSync(sink, 'w');
  try {
    const options: SpawnSyncOptions = { stdio: ['ignore', fd, fd], env: env ?? process.env };
    const start = process.hrtime.bigint();
    const r = spawnSync(argv[0] ?? '', argv.slice(1), options);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.error !== undefined) throw r.error;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal} (output in ${sink})`);
    return ms;
  } finally {
    closeSync(fd);
  }
}

/**
 * Paired rounds: `rounds` timed rounds after one warm-up round; returns one summary per
 * contestant (same order) and, per round, the samples side by side (for paired ratios).
 */
export function pairedRuns(contestants: readonly Contestant<unknown>[], rounds: number, sink: string): { summaries: Summary[]; pairs: number[][] } {
  const samples: number[][] = contestants.map(() => []);
  const pairs: number[][] = [];
  for (let round = -1; round < rounds; round++) {
    const row: number[] = new Array<number>(contestants.length).fill(Number.NaN);
    for (let k = 0; k < contestants.length; k++) {
      const index = (k + Math.max(round, 0)) % contestants.length;
      const c = contestants[index];
      if (c === undefined) continue;
      const context = c.prepare();
      let ms: number;
      try {
        ms = timeProcess(c.argv(context), c.env, sink);
      } finally {
        c.finish?.(context, round < 0);
      }
      row[index] = ms;
    }
    if (round >= 0) {
      pairs.push(row);
      row.forEach((ms, i) => samples[i]?.push(ms));
    }
  }
  return { summaries: contestants.map((c, i) => summarise(c.name, samples[i] ?? [])), pairs };
}

/** Ratio of medians of contestant a over b, and the 25th–75th percentile of the per-round ratios. */
export function ratio(pairs: readonly number[][], a: number, b: number): { ofMedians: number; p25: number; p75: number } {
  const per = pairs.map((p) => (p[a] ?? Number.NaN) / (p[b] ?? Number.NaN));
  return {
    ofMedians: median(pairs.map((p) => p[a] ?? Number.NaN)) / median(pairs.map((p) => p[b] ?? Number.NaN)),
    p25: quantile(per, 0.25),
    p75: quantile(per, 0.75),
  };
}
