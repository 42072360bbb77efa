// Notices changes to mounted files. Kubernetes updates Secret and ConfigMap volumes by writing a new
// timestamped folder and atomically swapping the `..data` symlink; the files we were given
// (`tls.crt` -> `..data/tls.crt`) never change in place, so watching the file itself misses the
// swap. We watch each containing DIRECTORY (sees the symlink rename) and also poll on a timer,
// because inotify is not delivered on every volume type (and fs.watch may fail outright). The
// callback re-reads and compares contents itself, so spurious calls are harmless.
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface WatchOptions {
  /** Poll period; the fallback when directory events do not arrive. */
  readonly pollMs?: number;
  /** Coalesce a burst of events (a swap produces several) into one call. */
  readonly debounceMs?: number;
  readonly onWatchError?: (dir: string, error: unknown) => void;
}

export interface Watch {
  close(): void;
}

/**
 * Call `onChange` after changes under the folders holding `files` and inside `dirs`, and every
 * pollMs. Keep `onChange` synchronous: then two calls can never overlap.
 */
export function watchForChanges(
  targets: { files?: readonly string[]; dirs?: readonly string[] },
  onChange: () => void,
  options: WatchOptions = {},
): Watch {
  const debounceMs = options.debounceMs ?? 50;
  const pollMs = options.pollMs ?? 10_000;
  const folders = new Set<string>([...(targets.files ?? []).map((f) => dirname(f)), ...(targets.dirs ?? [])]);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = (): void => {
    timer = undefined;
    if (!closed) onChange();
  };
  const schedule = (): void => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(fire, debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const folder of folders) {
    try {
      const watcher = watch(folder, { persistent: false }, schedule);
      watcher.on('error', (error) => options.onWatchError?.(folder, error));
      watchers.push(watcher);
    } catch (error) {
      options.onWatchError?.(folder, error);
    }
  }
  const poll = setInterval(schedule, pollMs);
  poll.unref();
  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
