// What the webhook keeps fresh while it runs (the serving certificate, the setup) is reloaded one
// way: on a change of the watched files (or a poll), read the inputs; if they differ from the ones
// in force and from the last rejected ones, build the new value and put it in force. A broken new
// value never replaces a working one: it is logged once (per distinct input) and the last good one
// stays, so a half-rotated pair or a typo in a ConfigMap edit cannot stop pod creation.
import { watchForChanges } from './file-watch.js';
import type { Watch } from './file-watch.js';

export interface ReloadLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Reloader<T> extends Watch {
  current(): T;
  /** Re-read now; true when a new value was put in force. Called by the watcher. */
  check(): boolean;
}

export interface Reloadable<T, Input> {
  /** Files (their folders are watched) and folders to watch. */
  readonly watch: { readonly files?: readonly string[]; readonly dirs?: readonly string[] };
  /** The inputs as they are now. Throws when they cannot be read (mid-swap): the next call retries. */
  read(): Input;
  same(a: Input, b: Input): boolean;
  /** The value the inputs make; throws, naming the file, when they are broken. */
  load(input: Input): T;
  /** Put a new value in force; throwing rejects it like a broken one. */
  install?(value: T): void;
  /** Log lines: the fields and message of a reload, and the messages of the failures. */
  readonly reloaded: (value: T) => readonly [object, string];
  readonly rejected: string;
  readonly unreadable: string;
  readonly unwatchable: string;
}

/** Watch `source`, starting from `initial` (loaded from `initialInput`). */
export function watchReloadable<T, Input>(source: Reloadable<T, Input>, initial: T, initialInput: Input, log: ReloadLogger, pollMs?: number): Reloader<T> {
  let current = initial;
  let loaded = initialInput;
  let rejected: Input | undefined;
  const check = (): boolean => {
    let input: Input;
    try {
      input = source.read();
    } catch (error) {
      log.error({ err: String(error) }, source.unreadable);
      return false;
    }
    if (source.same(input, loaded) || (rejected !== undefined && source.same(input, rejected))) return false;
    let value: T;
    try {
      value = source.load(input);
      source.install?.(value);
    } catch (error) {
      rejected = input;
      log.error({ err: error instanceof Error ? error.message : String(error) }, source.rejected);
      return false;
    }
    current = value;
    loaded = input;
    rejected = undefined;
    log.info(...source.reloaded(value));
    return true;
  };
  const watcher = watchForChanges(source.watch, () => void check(), {
    ...(pollMs === undefined ? {} : { pollMs }),
    onWatchError: (dir, error) => log.error({ dir, err: String(error) }, source.unwatchable),
  });
  return { current: () => current, check, close: () => watcher.close() };
}
