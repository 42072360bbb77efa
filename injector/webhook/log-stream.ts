// The webhook's log destination: the lines of one event-loop turn are written together, with one
// write(2), when the turn ends (setImmediate), instead of one write(2) per line. Under load a turn
// answers several reviews, so this saves most of the system calls of the one-line-per-review log
// (about 5 µs of CPU each, measured under bench/webhook-load.ts). Lines still pending when the
// process exits (signals, process.exit, an uncaught exception) are written by the 'exit' handler;
// only a SIGKILL mid-turn loses them: at most one turn's lines.

export interface LineDestination {
  write(text: string): unknown;
}

export interface TurnBufferedStream {
  /** pino's destination interface: one serialised line (or more) at a time. */
  write(text: string): boolean;
  /** Write what is pending now. */
  flush(): void;
}

export function turnBufferedStream(target: LineDestination): TurnBufferedStream {
  let pending: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.length === 1 ? (pending[0] as string) : pending.join('');
    pending = [];
    target.write(text);
  };
  process.on('exit', flush);
  return {
    write(text) {
      pending.push(text);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return true;
    },
    flush,
  };
}
