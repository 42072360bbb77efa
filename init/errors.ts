// The two ways pillion-init fails, each with its documented exit code (docs/init.md).

/** Bad flags, env or combination: exit 2, nothing changed. `message` names the flag. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

/** Something at run time failed (restore rejected, binary missing): exit 1, previous state kept. */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
  readonly exitCode = 1;
}

/** A runtime failure after which taking back what already changed failed too: exit 1, rules may be half applied. */
export class HalfAppliedError extends RuntimeError {
  override name = 'HalfAppliedError';
}
