// The one shape check every JSON input of the plugin needs (stdin, annotations, kubeconfig).
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
