// How the webhook's own parts fail (the core's errors are core/errors.ts): one class, with a code
// where a caller branches on it, and what it was raised from kept as `cause`.

export type WebhookProblem =
  /** The request is not a usable AdmissionReview for a Pod: answered with HTTP 400. */
  | 'malformed-review'
  /** The serving certificate or key is unreadable or unusable: start-up fails, a reload is refused. */
  | 'certificate';

export class WebhookError extends Error {
  override name = 'WebhookError';
  constructor(
    readonly code: WebhookProblem,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
