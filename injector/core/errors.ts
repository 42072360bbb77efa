// How the injection core fails: two ways, because its callers answer them differently.
//  - SetupError: what an operator wrote (the injector config, a template folder, values) is wrong.
//    Loading stops; the webhook does not start (or keeps its last good setup), `pillion inject`
//    exits 1. `message` starts with the file.
//  - InjectionError: one pod (or its annotations) is wrong. That pod is refused; the webhook
//    denies it, the CLI names file, document and line.
// Either keeps what it was raised from as `cause`. No codes: no caller branches on the kind.

export class SetupError extends Error {
  override name = 'SetupError';
}

/**
 * An invalid override annotation (or other bad input about the pod). The webhook rejects the pod
 * with `message`; the CLI exits 1 naming file, document and line. `annotation` names the culprit.
 */
export class InjectionError extends Error {
  override name = 'InjectionError';
  constructor(
    message: string,
    readonly annotation?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
