// Kubernetes, and what kubeadm pins for its minor (etcd, CoreDNS, pause), built from
// their published modules. Kubernetes' root go.mod requires its staging modules at
// v0.0.0 and replaces them with ./staging/src/... (ignored in a dependency,
// kubernetes#79384): the wrapper replaces each with its published v0.<minor>.<patch>.
import { Build, GoModFacts, isLocalReplace, ModuleSource, parseGoMod, Recipe, wrapperGoMod } from "./recipe";

export const KUBERNETES_MODULE = "k8s.io/kubernetes";
/** The programs a kubeadm cluster runs, all from one `go build` of the kubernetes module. */
export const KUBERNETES_COMMANDS = ["kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"] as const;
export const KUBEADM_CONSTANTS = "cmd/kubeadm/app/constants/constants.go";

/** `1.34.2` → `{ major: "1", minor: "34", patch: "2" }`; refuses anything else. */
export function parseRelease(version: string): { major: string; minor: string; patch: string } {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new Error(`not a Kubernetes release: ${JSON.stringify(version)} (expected e.g. 1.34.2)`);
  return { major: m[1], minor: m[2], patch: m[3] };
}

/**
 * The staging replaces of Kubernetes' go.mod, pointed at the published staging modules
 * (`k8s.io/api v0.34.2` for Kubernetes 1.34.2). Any replace that is not local is kept.
 */
export function stagingReplaces(mod: GoModFacts, version: string): GoModFacts["replaces"] {
  const { minor, patch } = parseRelease(version);
  return mod.replaces.map((r) => (isLocalReplace(r) ? { from: r.from, to: r.from, toVersion: `v0.${minor}.${patch}` } : r));
}

/** Version stamps as hack/lib/version.sh sets them, for both packages that carry them. */
export function kubernetesLdflags(args: { version: string; commit?: string; buildDate: string }): string[] {
  const { major, minor } = parseRelease(args.version);
  const stamps: Record<string, string> = {
    gitVersion: `v${args.version.replace(/^v/, "")}`,
    gitMajor: major,
    gitMinor: minor,
    // The proxy does not always say which commit a tag is; then it stays empty, as in a source tarball build.
    ...(args.commit ? { gitCommit: args.commit } : {}),
    gitTreeState: "clean",
    buildDate: args.buildDate,
  };
  const flags: string[] = [];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    for (const [k, v] of Object.entries(stamps)) flags.push(`-X ${pkg}.${k}=${v}`);
  }
  return flags;
}

/** What kubeadm's constants pin for a Kubernetes minor. */
export interface KubeadmPins {
  /** etcd release without kubeadm's image suffix, e.g. `3.6.5` (image tag 3.6.5-0). */
  etcd: string;
  etcdImageTag: string;
  /** e.g. `v1.12.1`. */
  coredns: string;
  /** e.g. `3.10.1`. */
  pause: string;
}

/**
 * Reads etcd (SupportedEtcdVersion's row of the release's own minor), CoreDNS and pause
 * versions from kubeadm's constants.go.
 */
export function kubeadmPins(constantsGo: string, version: string): KubeadmPins {
  const { minor } = parseRelease(version);
  const table = /SupportedEtcdVersion\s*=\s*map\[uint8\]string\{([^}]*)\}/.exec(constantsGo);
  // Up to 1.34 the rows are keyed by the minor's number; from 1.35 by its skew from the release itself.
  const etcdRow = table && (new RegExp(`\\b${minor}:\\s*"([^"]+)"`).exec(table[1]) ?? /getSkewedKubernetesVersion\(0\)\.Minor\(\)\):\s*"([^"]+)"/.exec(table[1]));
  const coredns = /CoreDNSVersion\s*=\s*"([^"]+)"/.exec(constantsGo);
  const pause = /PauseVersion\s*=\s*"([^"]+)"/.exec(constantsGo);
  if (!etcdRow || !coredns || !pause) {
    throw new Error(`kubeadm's ${KUBEADM_CONSTANTS} for ${version} does not list etcd for minor ${minor}, CoreDNSVersion and PauseVersion as expected`);
  }
  return { etcd: etcdRow[1].replace(/-\d+$/, ""), etcdImageTag: etcdRow[1], coredns: coredns[1], pause: pause[1] };
}

/** Reproducible build date: the release's own time, in the format version.sh uses. */
export const buildDateOf = (isoTime: string) => new Date(isoTime).toISOString().replace(/\.\d{3}Z$/, "Z");

export function kubernetesBuild(args: { version: string; goMod: string; commit?: string; time: string }): Build {
  const v = `v${args.version.replace(/^v/, "")}`;
  const mod = parseGoMod(args.goMod);
  return {
    kind: "go",
    id: `kubernetes-${v}`,
    title: `Kubernetes ${v}: ${KUBERNETES_COMMANDS.join(", ")}`,
    files: {
      "go.mod": wrapperGoMod({
        module: "kubeadm-ha.toolchain/kubernetes",
        go: mod.go ?? "1.24.0",
        godebug: mod.godebug,
        requires: [{ path: KUBERNETES_MODULE, version: v }],
        replaces: stagingReplaces(mod, v),
      }),
    },
    packages: KUBERNETES_COMMANDS.map((c) => `${KUBERNETES_MODULE}/cmd/${c}`),
    ldflags: kubernetesLdflags({ version: v, commit: args.commit, buildDate: buildDateOf(args.time) }),
    outputs: [...KUBERNETES_COMMANDS],
  };
}

/** etcd, etcdctl and etcdutl at one release: each is its own module, all required together. */
export function etcdBuild(version: string): Build {
  const v = `v${version}`;
  const mods = ["go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/etcdctl/v3", "go.etcd.io/etcd/etcdutl/v3"];
  return {
    kind: "go",
    id: `etcd-${v}`,
    title: `etcd ${v}: etcd, etcdctl, etcdutl`,
    files: {
      "go.mod": wrapperGoMod({ module: "kubeadm-ha.toolchain/etcd", go: "1.24", requires: mods.map((path) => ({ path, version: v })) }),
    },
    // server/ is the etcd binary's main package; the binary takes its name from the folder.
    packages: mods,
    // etcd's version is a constant of its api module; GitSHA stays "Not provided" (no commit is known here).
    ldflags: [],
    outputs: ["server", "etcdctl", "etcdutl"],
    renames: { server: "etcd" },
  };
}

export function corednsBuild(version: string): Build {
  return {
    kind: "go",
    id: `coredns-${version}`,
    title: `CoreDNS ${version}`,
    files: { "go.mod": wrapperGoMod({ module: "kubeadm-ha.toolchain/coredns", go: "1.24", requires: [{ path: "github.com/coredns/coredns", version }] }) },
    packages: ["github.com/coredns/coredns"],
    ldflags: [`-X github.com/coredns/coredns/coremain.GitCommit=${version}`],
    outputs: ["coredns"],
  };
}

/** The toolchain build of pause `pause` compiled from Kubernetes `kubernetesVersion`'s source. */
export const pauseBuildId = (pause: string, kubernetesVersion: string) => `pause-${pause}-from-kubernetes-v${kubernetesVersion.replace(/^v/, "")}`;

/** The pause program: Kubernetes' build/pause/linux/pause.c, static, with its version compiled in. */
export function pauseBuild(kubernetesVersion: string, pause: string): Build {
  return {
    kind: "c",
    // Its source is the release's own build/pause/linux/pause.c: two releases pinning the same
    // pause are two builds (one folder rebuilt in turn by each would never be "built already").
    id: pauseBuildId(pause, kubernetesVersion),
    title: `pause ${pause}`,
    module: KUBERNETES_MODULE,
    version: `v${kubernetesVersion.replace(/^v/, "")}`,
    source: "build/pause/linux/pause.c",
    cflags: ["-Os", "-Wall", "-Werror", "-static", `-DVERSION=v${pause}`],
    output: "pause",
  };
}

/**
 * Kubernetes at `version`, and etcd, CoreDNS and pause at the versions its kubeadm pins.
 * `as: "upgrade"`: the release the lab upgrades to, built beside the default one: its
 * recipes are named `kubernetes-upgrade`, ... and its tools `kubeadm@v1.35.4`, ...
 */
export function kubernetesRecipes(version: string, as: "default" | "upgrade" = "default"): Recipe[] {
  const v = `v${version.replace(/^v/, "")}`;
  const pins = async (src: ModuleSource) => kubeadmPins(await src.file(KUBERNETES_MODULE, v, KUBEADM_CONSTANTS), v);
  const recipes: Recipe[] = [
    {
      name: "kubernetes",
      resolve: async (src) => [
        kubernetesBuild({ version: v, goMod: await src.goMod(KUBERNETES_MODULE, v), commit: await src.commit(KUBERNETES_MODULE, v), time: await src.time(KUBERNETES_MODULE, v) }),
      ],
    },
    { name: "etcd", resolve: async (src) => [etcdBuild((await pins(src)).etcd)] },
    { name: "coredns", resolve: async (src) => [corednsBuild((await pins(src)).coredns)] },
    { name: "pause", resolve: async (src) => [pauseBuild(v, (await pins(src)).pause)] },
  ];
  return as === "default" ? recipes : recipes.map((r) => ({ ...r, name: `${r.name}-upgrade`, toolSuffix: versionedSuffix(v) }));
}

/** The suffix of the tools of a release built beside the default one: `@v1.35.4`. */
export const versionedSuffix = (version: string) => `@v${version.replace(/^v/, "")}`;
