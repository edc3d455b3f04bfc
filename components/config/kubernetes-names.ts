// What the Kubernetes API accepts for the names and values a stack hands it (node labels,
// taints), as apimachinery's validation has it (IsQualifiedName, IsValidLabelValue), so a
// value the API server would refuse at a node's registration is refused at validation. Pure.

/** A DNS-1123 subdomain: what a qualified name's prefix must be. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** The name part of a qualified name, and a label value (which may also be empty). */
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
export const LABEL_VALUE_MAX = 63;
const NAME_MAX = 63;
const PREFIX_MAX = 253;

/** Why Kubernetes refuses `key` as a label or taint key (a qualified name); undefined when it accepts it. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return "has more than one '/'";
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined) {
    if (prefix.length === 0) return "has an empty prefix before '/'";
    if (prefix.length > PREFIX_MAX) return `has a prefix longer than ${PREFIX_MAX} characters`;
    if (!DNS1123_SUBDOMAIN.test(prefix)) return "has a prefix that is not a DNS subdomain (lower-case letters, digits, '-' and '.')";
  }
  if (name.length === 0) return "has an empty name";
  if (name.length > NAME_MAX) return `has a name longer than ${NAME_MAX} characters`;
  if (!QUALIFIED_NAME_PART.test(name)) return "has a name that is not letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
  return undefined;
}

/** Why Kubernetes refuses `value` as a label value (and a taint's value); undefined when it accepts it. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > LABEL_VALUE_MAX) return `is longer than ${LABEL_VALUE_MAX} characters`;
  if (!LABEL_VALUE.test(value)) return "is not empty or letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
  return undefined;
}
