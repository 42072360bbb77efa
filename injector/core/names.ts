// Kubernetes names as the injector checks and shows them.

/** An RFC 1123 DNS label, unanchored (for patterns that embed one). */
export const dnsLabelPattern = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';

/** A DNS label: namespace names, and template names (they become parts of such names). */
export const dnsLabel = new RegExp(`^${dnsLabelPattern}$`);

/**
 * An object's name for messages and logs: metadata.name, else generateName and a star (the pods
 * of a ReplicaSet have only that), else `unnamed`.
 */
export function describeName(object: { readonly metadata?: unknown } | null, unnamed: string): string {
  const metadata = object?.metadata;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return unnamed;
  const { name, generateName } = metadata as { name?: unknown; generateName?: unknown };
  if (typeof name === 'string' && name !== '') return name;
  if (typeof generateName === 'string' && generateName !== '') return `${generateName}*`;
  return unnamed;
}
