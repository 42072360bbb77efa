// AdmissionReview (admission.k8s.io/v1) parsing and response building. Pure functions: no I/O,
// no logging, so the app, the fuzz test and the benchmark all share one definition of "well-formed".
import { isPlainObject } from '../core/json.js';
import { WebhookError } from './errors.js';
import type { JsonObject } from '../core/types.js';

export const admissionApiVersion = 'admission.k8s.io/v1';

/** A request that is not a usable AdmissionReview for a Pod; answered with HTTP 400. */
function malformed(message: string): WebhookError {
  return new WebhookError('malformed-review', message);
}

/** The parts of an AdmissionReview request the webhook uses, checked. */
export interface PodAdmission {
  readonly uid: string;
  readonly operation: string;
  /** Namespace of the request (the API server always sets it for namespaced pods). */
  readonly namespace: string | undefined;
  readonly subResource: string | undefined;
  readonly dryRun: boolean;
  /** The pod as the API server has it; null for DELETE. */
  readonly object: JsonObject | null;
}

export interface AdmissionStatus {
  readonly code: number;
  readonly message: string;
  readonly reason?: string;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  /** base64 of the JSON Patch document. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
  readonly status?: AdmissionStatus;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw malformed(`request.${field} must be a string`);
  return value;
}

/**
 * Check an already JSON-parsed body. Throws WebhookError 'malformed-review' naming the first problem.
 * Only a Pod is accepted: the webhook is registered for pods, so anything else means a
 * misconfigured MutatingWebhookConfiguration, which the operator should see as an error.
 */
export function parsePodAdmission(body: unknown): PodAdmission {
  if (!isPlainObject(body)) throw malformed('body must be a JSON object (an AdmissionReview)');
  if (body.apiVersion !== admissionApiVersion) {
    throw malformed(`apiVersion must be ${admissionApiVersion}, got ${describe(body.apiVersion)}`);
  }
  if (body.kind !== 'AdmissionReview') {
    throw malformed(`kind must be AdmissionReview, got ${describe(body.kind)}`);
  }
  const request = body.request;
  if (!isPlainObject(request)) throw malformed('request is missing or not an object');
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') throw malformed('request.uid is missing or empty');
  // The API server always says what is being done; a review that does not is not one to guess at.
  const operation = optionalString(request.operation, 'operation');
  if (operation === undefined) throw malformed('request.operation is missing (CREATE, UPDATE, DELETE or CONNECT)');

  // request.kind is the kind of the object as sent; a Pod is {group: '', version: 'v1', kind: 'Pod'}.
  const kind = request.kind;
  if (!isPlainObject(kind) || kind.kind !== 'Pod' || (kind.group ?? '') !== '' || kind.version !== 'v1') {
    throw malformed(`request.kind must be {group: "", version: v1, kind: Pod}, got ${describe(kind)}`);
  }
  const object = request.object;
  if (operation === 'DELETE' && (object === null || object === undefined)) {
    return { uid, operation, namespace: optionalString(request.namespace, 'namespace'), subResource: undefined, dryRun: false, object: null };
  }
  if (!isPlainObject(object)) throw malformed('request.object is missing or not an object');
  if (object.kind !== undefined && object.kind !== 'Pod') {
    throw malformed(`request.object.kind must be Pod, got ${describe(object.kind)}`);
  }
  if (object.metadata !== undefined && !isPlainObject(object.metadata)) {
    throw malformed('request.object.metadata must be an object');
  }
  if (object.spec !== undefined && !isPlainObject(object.spec)) {
    throw malformed('request.object.spec must be an object');
  }
  return {
    uid,
    operation,
    namespace: optionalString(request.namespace, 'namespace'),
    subResource: optionalString(request.subResource, 'subResource'),
    dryRun: request.dryRun === true,
    object,
  };
}

/** Best-effort uid of a body that failed validation, so logs can correlate it. */
export function peekUid(body: unknown): string | undefined {
  if (!isPlainObject(body) || !isPlainObject(body.request)) return undefined;
  const uid = body.request.uid;
  return typeof uid === 'string' ? uid : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Kubernetes truncates long warnings anyway; keep them within its documented 256-character bound. */
const maxWarningLength = 256;

function clipWarnings(warnings: readonly string[]): readonly string[] | undefined {
  if (warnings.length === 0) return undefined;
  return warnings.map((w) => (w.length > maxWarningLength ? `${w.slice(0, maxWarningLength - 3)}...` : w));
}

/** A response without its uid: what a decision produces, the same for every identical review. */
export type AdmissionAnswer = Omit<AdmissionResponse, 'uid'>;

/** A whole AdmissionReview response body for `uid`, as UTF-8 bytes. */
export type ReviewEncoder = (uid: string) => Buffer;

const responseHead = Buffer.from(`{"apiVersion":${JSON.stringify(admissionApiVersion)},"kind":"AdmissionReview","response":{"uid":`);

/**
 * Serialise `answer` once; the encoder then only splices in each request's uid. The API server
 * needs the uid echoed, and everything else of a cached decision is the same bytes every time, so
 * a repeat answer costs a copy instead of a UTF-8 encoding of the whole patch. The bytes after the
 * uid are kept from the second answer on: most answers (pods never seen again) are encoded once,
 * straight into the response.
 */
export function prepareReviewResponse(answer: AdmissionAnswer): ReviewEncoder {
  const { patch, ...others } = answer;
  const fields = JSON.stringify(others).slice(1, -1); // the fields that follow the uid
  // The bytes after the uid: `,<fields>,"patch":"<base64>"}}`. Base64 is ASCII and never needs
  // JSON escaping, so it is copied in as it is (latin1), neither scanned nor re-encoded.
  const head = `${fields === '' ? '' : `,${fields}`}${patch === undefined ? '' : ',"patch":"'}`;
  const tailLength = Buffer.byteLength(head) + (patch === undefined ? 0 : patch.length + 1) + 2;
  const writeTail = (out: Buffer, start: number): void => {
    let at = start + out.write(head, start);
    if (patch !== undefined) {
      at += out.write(patch, at, 'latin1');
      at += out.write('"', at, 'latin1');
    }
    out.write('}}', at, 'latin1');
  };
  let tail: Buffer | undefined;
  let encoded = 0;
  return (uid) => {
    const quoted = JSON.stringify(uid);
    const out = Buffer.allocUnsafe(responseHead.length + Buffer.byteLength(quoted) + tailLength);
    responseHead.copy(out, 0);
    const end = responseHead.length + out.write(quoted, responseHead.length);
    if (tail !== undefined) tail.copy(out, end);
    else {
      writeTail(out, end);
      encoded += 1;
      if (encoded > 1) tail = Buffer.from(out.subarray(end));
    }
    return out;
  };
}

/** Allowed with a JSON Patch (already serialised, so the caller decides how it is produced). */
export function patchedAnswer(patchJson: string, warnings: readonly string[]): AdmissionAnswer {
  return { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(patchJson, 'utf8').toString('base64'), ...optionalWarnings(warnings) };
}

/** Allowed unchanged (the pod was skipped). */
export function allowedAnswer(warnings: readonly string[]): AdmissionAnswer {
  return { allowed: true, ...optionalWarnings(warnings) };
}

/** Denied: the API server rejects the pod with `message` (shown to kubectl users). */
export function deniedAnswer(code: 400 | 500, message: string, warnings: readonly string[] = []): AdmissionAnswer {
  return {
    allowed: false,
    status: { code, message, reason: code === 400 ? 'BadRequest' : 'InternalError' },
    ...optionalWarnings(warnings),
  };
}

function optionalWarnings(warnings: readonly string[]): { warnings?: readonly string[] } {
  const clipped = clipWarnings(warnings);
  return clipped === undefined ? {} : { warnings: clipped };
}
