// The static pods kubeadm writes, run the way a kubelet runs them: the container's
// command with its flags, as the host (its own /etc/kubernetes, /var/lib/etcd) in the
// host's network namespace. The lab runs the real binaries, built by the toolchain, not
// container images: the flags, certificates and data directories are kubeadm's own.
import { readFileSync } from "fs";
import { join } from "path";
import { parse } from "yaml";

/** The four static pods of a stacked control plane, in the order they must start. */
export const CONTROL_PLANE_PODS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
export type ControlPlanePod = (typeof CONTROL_PLANE_PODS)[number];

interface PodManifest {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Array<{ command?: string[]; args?: string[] }>; [k: string]: unknown };
}

/** The argv a kubelet would run for a one-container static pod: its command followed by its args. */
export function podArgv(manifestYaml: string): string[] {
  const pod = parse(manifestYaml) as PodManifest;
  const c = pod.spec?.containers?.[0];
  const argv = [...(c?.command ?? []), ...(c?.args ?? [])];
  if (!argv.length) throw new Error(`static pod ${pod.metadata?.name ?? "?"} has no command`);
  return argv;
}

/** The value of `--name=value` in an argv (undefined when absent). */
export function flagOf(argv: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

export const manifestPath = (root: string, pod: ControlPlanePod) => join(root, "etc/kubernetes/manifests", `${pod}.yaml`);

export const readPodArgv = (root: string, pod: ControlPlanePod) => podArgv(readFileSync(manifestPath(root, pod), "utf8"));

/**
 * The mirror pod a kubelet posts for a static pod (`<name>-<node>`, bound to the node,
 * marked as a mirror). kubeadm reads the etcd members' client URLs from the etcd mirror
 * pods' annotation when a control-plane node joins.
 */
export function mirrorPod(manifestYaml: string, node: string): Record<string, unknown> {
  const pod = parse(manifestYaml) as PodManifest;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...pod.metadata,
      name: `${pod.metadata.name}-${node}`,
      namespace: pod.metadata.namespace ?? "kube-system",
      annotations: { ...pod.metadata.annotations, "kubernetes.io/config.mirror": "kubeadm-ha-lab", "kubernetes.io/config.source": "file" },
    },
    spec: { ...pod.spec, nodeName: node },
  };
}

/**
 * Whether kubeadm has finished writing a static pod's manifest: it creates the file and
 * then writes it (not atomically), so a file that exists may still be empty.
 */
export function manifestWritten(root: string, pod: ControlPlanePod): boolean {
  try {
    readPodArgv(root, pod); // throws while the file is missing, empty or has no command yet
    return true;
  } catch {
    return false;
  }
}
