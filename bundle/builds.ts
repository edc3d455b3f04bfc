// Two small programs the images need that the toolchain's recipes do not build; the
// bundle builder builds them through the toolchain (same cache, same stamps, so a warm
// run reuses them):
// - /go-runner, the entrypoint of upstream's kube-apiserver, kube-controller-manager,
//   kube-scheduler and kube-proxy images. Upstream's go-runner module
//   (k8s.io/release/images/build/go-runner) is not served by the module proxy; its
//   successor, kube-log-runner in k8s.io/component-base (same flags: -log-file,
//   -also-stdout, -redirect-stderr), is, at the Kubernetes release's own staging version.
// - the lab's echo server (lab/images/echo/main.go), static, standard library only.
import { readFileSync } from "fs";
import { join } from "path";
import { parseRelease } from "../toolchain/kubernetes";
import { Build, wrapperGoMod } from "../toolchain/recipe";

export const KUBE_LOG_RUNNER = "k8s.io/component-base/logs/kube-log-runner";

export function goRunnerBuild(kubernetesVersion: string): Build {
  const { minor, patch } = parseRelease(kubernetesVersion);
  const v = `v0.${minor}.${patch}`;
  return {
    kind: "go",
    id: `go-runner-${v}`,
    title: `go-runner (kube-log-runner from k8s.io/component-base ${v})`,
    files: { "go.mod": wrapperGoMod({ module: "kubeadm-ha.toolchain/go-runner", go: "1.24", requires: [{ path: "k8s.io/component-base", version: v }] }) },
    packages: [KUBE_LOG_RUNNER],
    ldflags: [],
    outputs: ["kube-log-runner"],
    renames: { "kube-log-runner": "go-runner" },
  };
}

export const ECHO_IMAGE = "kubeadm-ha.lab/echo:1";
export const echoSource = (root: string) => readFileSync(join(root, "lab", "images", "echo", "main.go"), "utf8");

/** The echo server from its source in the repository; the source is part of the stamp, so an edit rebuilds it. */
export function echoBuild(source: string, version = "1"): Build {
  return {
    kind: "go",
    id: "lab-echo",
    title: "lab image program echo",
    files: { "go.mod": "module kubeadm-ha.lab/echo\n\ngo 1.24\n", "main.go": source },
    packages: ["."],
    ldflags: [`-X main.version=${version}`],
    outputs: ["echo"],
  };
}
