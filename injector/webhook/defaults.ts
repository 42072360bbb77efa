// Defaults shared by the webhook's modules and its command line. Kept apart so that the CLI can
// show them in --help without loading fastify and the Kubernetes client (`pillion inject` must
// start fast, and it registers the webhook command too).

/** The API server caps an admission request at 3 MiB of object; allow that by default. */
export const defaultBodyLimit = 3 * 1024 * 1024;

export const defaultPort = 9443;

/** Decision-cache bound: a few MB of encoded answers (a typical injected answer is ~10 KB). */
export const defaultDecisionCacheEntries = 512;
