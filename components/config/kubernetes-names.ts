// What the Kubernetes API accepts for the names and values a stack hands it (node labels,
// taints), as apimachinery's validation has it (IsQualifiedName, IsValidLabelValue), so a
// value the API server would refuse at a node's registration is refused at validation. Pure.
import { Add, show } from "./problems";

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

/** Labels the API accepts (qualified keys, label values) and a kubelet may set on its own Node (NodeRestriction admission). */
export function checkKubeletLabels(labels: Record<string, string>, at: PropertyKey[], add: Add) {
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) {
      add(
        [...at, key],
        `label key ${show(key)} ${keyProblem}: Kubernetes refuses it`,
        "write a key such as example.com/role or tier (an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.')",
      );
      continue;
    }
    const valueProblem = labelValueProblem(value);
    if (valueProblem)
      add(
        [...at, key],
        `label value ${show(value)} ${valueProblem}: Kubernetes refuses it`,
        `write a value such as ${show(
          value
            .replace(/[^A-Za-z0-9_.-]+/g, "-")
            .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "")
            .slice(0, LABEL_VALUE_MAX) || "web",
        )}`,
      );
    const prefix = key.includes("/") ? key.split("/")[0] : "";
    const restricted = /(^|\.)(kubernetes\.io|k8s\.io)$/.test(prefix) && !/(^|\.)(kubelet|node)\.kubernetes\.io$/.test(prefix);
    if (restricted)
      add(
        [...at, key],
        `the kubelet may not set label ${show(key)} on its own node (NodeRestriction admission)`,
        "use your own prefix, e.g. example.com/role, or node.kubernetes.io/...",
      );
  }
}
