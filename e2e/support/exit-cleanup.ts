// Last-resort, synchronous cleanup when the test process ends without running its t.after hooks
// (an uncaught error, or the runner killing it with SIGTERM/SIGINT on timeout or Ctrl-C). The
// normal path is still t.after/finally; this only makes sure namespaces, helper processes and
// temporary files never outlive an interrupted run.
const actions = new Set<() => void>();

function runAll(): void {
  // Most recently registered first: processes inside a namespace go before the namespace itself.
  for (const action of [...actions].reverse()) {
    try {
      action();
    } catch {
      // keep going: every other resource still deserves its cleanup
    }
  }
  actions.clear();
}

process.once('exit', runAll);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.once(signal, () => {
    runAll();
    process.exit(code);
  });
}

/** Register a synchronous cleanup; returns the function that unregisters it (call it once cleaned normally). */
export function registerExitCleanup(action: () => void): () => void {
  actions.add(action);
  return () => {
    actions.delete(action);
  };
}
