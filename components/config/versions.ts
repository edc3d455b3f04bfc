// Which changes of kubernetes.version a running cluster can take. kubeadm upgrades one
// minor at a time and never downgrades; the version-skew policy keeps every kubelet at or
// below the apiserver. The program records the release the whole cluster runs as the stack
// output `kubernetesVersion`, written only once the last node's upgrade has passed (an up
// that failed halfway keeps the release it started from); the next `pulumi up` or preview
// reads it back and refuses, before any resource is registered, a downgrade or a skipped
// minor, naming the releases to go through. Pure.
import { ConfigProblem } from "./validate";
import { NAMESPACE } from "./schema";

/** The stack output holding the release every node runs, once its upgrade has passed. */
export const VERSION_OUTPUT = "kubernetesVersion";

const KEY = `${NAMESPACE}:kubernetes.version`;

/** `1.34.2` → [1, 34, 2]; undefined for anything else. */
function release(v: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Negative when a is older than b, 0 when equal, positive when newer. */
export function compareReleases(a: string, b: string): number {
  const x = release(a)!;
  const y = release(b)!;
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** The minors an upgrade from `from` to `to` must stop at, in order, `to`'s own last: 1.33.4 → 1.36.1 gives 1.34, 1.35, 1.36. */
export function minorsToGoThrough(from: string, to: string): string[] {
  const [fMajor, fMinor] = release(from)!;
  const [, tMinor] = release(to)!;
  return Array.from({ length: Math.max(0, tMinor - fMinor) }, (_, i) => `${fMajor}.${fMinor + i + 1}`);
}

/**
 * The problems of changing the release of a cluster that runs `running` (its
 * `kubernetesVersion` output; none before the first up, or from a program that did not
 * record it) to `wanted`: a downgrade, or more than one minor at once.
 */
export function versionChangeProblems(running: unknown, wanted: string): ConfigProblem[] {
  if (typeof running !== "string" || !release(running) || !release(wanted)) return [];
  if (compareReleases(wanted, running) < 0) {
    return [
      {
        key: KEY,
        message: `is ${JSON.stringify(wanted)}, older than ${JSON.stringify(running)}, which this cluster runs: kubeadm upgrades and never downgrades (etcd's data and the stored objects may already be in the newer release's form)`,
        fix: `set it back to ${JSON.stringify(running)} or a later release; to run ${wanted}, build a cluster on it in a new stack and move the workloads over`,
      },
    ];
  }
  const stops = minorsToGoThrough(running, wanted);
  if (stops.length > 1) {
    const through = stops.slice(0, -1);
    return [
      {
        key: KEY,
        message: `is ${JSON.stringify(wanted)}, ${stops.length} minors after ${JSON.stringify(running)}, which this cluster runs: kubeadm upgrades one minor at a time (the version-skew policy allows no more between the control plane and the kubelets)`,
        fix: `upgrade through ${through.join(", then ")} first: set a ${through[0]} release (e.g. "${through[0]}.0" or its latest patch), pulumi up, and so on; then ${JSON.stringify(wanted)}`,
      },
    ];
  }
  return [];
}

/**
 * A master new to the stack (`names` not among `before`, the last up's masters) in the same
 * up as a change of release (`running` → `wanted`): it would install the new release and join
 * the control plane before the other masters are upgraded, an apiserver and kubelet newer than
 * the cluster's. `key` is where the stack lists its masters (`hosts.masters` or `controlPlane.count`).
 */
export function newMastersDuringUpgrade(running: unknown, wanted: string, before: unknown, names: string[], key: string): ConfigProblem[] {
  if (typeof running !== "string" || running === wanted || !Array.isArray(before)) return [];
  const had = new Set(before.map((m) => (m && typeof m === "object" ? String((m as { name?: unknown }).name) : "")));
  const added = names.filter((n) => !had.has(n));
  if (!added.length) return [];
  return [
    {
      key: `${NAMESPACE}:${key}`,
      message: `adds ${added.join(", ")} in the same up as the upgrade from ${JSON.stringify(running)} to ${JSON.stringify(wanted)}: a new master would join on the new release before the others are upgraded`,
      fix: `add the masters after the upgrade: set kubernetes.version back to ${JSON.stringify(running)} for this up (or leave ${key} as it was), pulumi up, then the other change`,
    },
  ];
}
