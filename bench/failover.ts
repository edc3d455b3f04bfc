// Failover times on the real control plane of the lab, RUNS runs each (default 5), median
// and worst, side by side with the defaults users get from other tools, measured in the
// same run on the same control plane with only the endpoint's files changed:
//   - vip: this program's rendered keepalived + haproxy, then the kubeadm HA guide's example;
//   - local-proxy: this program's rendered per-node haproxy, then Kubespray's proxy timing.
// Needs root and the toolchain (npm run toolchain).
import { ControlPlane, EndpointMode, EndpointVariant } from "../lab/controlplane";
import { apiserverKilled, etcdLeaderKilled, masterLost, proxyKilledOnVipHolder } from "../lab/cp-scenarios";
import { Lab, requireRoot } from "../lab/lab";
import { KUBEADM_GUIDE, KUBESPRAY } from "../lab/others";
import { median } from "./stats";

const runs = Number(process.env.RUNS ?? 5);
const rows: string[][] = [];
const row = (setup: string, what: string, xs: number[]) => {
  rows.push([setup, what, String(median(xs)), String(Math.max(...xs)), xs.join(", ")]);
  console.error(`  ${setup}: ${what}: median ${median(xs)} ms, worst ${Math.max(...xs)} ms (${xs.join(", ")})`);
};

async function times<T>(n: number, f: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}

async function withCluster(mode: EndpointMode, variant: EndpointVariant, f: (cp: ControlPlane) => Promise<void>) {
  const lab = new Lab();
  try {
    await f(await new ControlPlane(lab, mode, variant).start());
  } finally {
    lab.close();
  }
}

/** The scenarios whose times depend on the endpoint's files: a dead apiserver, a dead proxy, a lost VIP holder. */
async function endpointScenarios(setup: string, cp: ControlPlane) {
  row(
    setup,
    "dead apiserver out of haproxy's rotation",
    (await times(runs, () => apiserverKilled(cp))).map((r) => r.removalMs),
  );
  const proxy = await times(runs, () => proxyKilledOnVipHolder(cp));
  row(
    setup,
    "VIP moves after haproxy dies on its holder",
    proxy.map((r) => r.vipMovedMs),
  );
  row(
    setup,
    "  client gap meanwhile",
    proxy.map((r) => r.clientGapMs),
  );
  const host = await times(runs, () => masterLost(cp, "vip-holder"));
  row(
    setup,
    "VIP moves after its holder is lost",
    host.map((r) => r.vipMovedMs!),
  );
  row(
    setup,
    "  client gap meanwhile",
    host.map((r) => r.clientGapMs),
  );
}

async function main() {
  requireRoot();
  console.error(`failover on a real control plane (kubeadm, etcd, kube-apiserver, controller-manager, scheduler), ${runs} runs each`);
  await withCluster("vip", {}, async (cp) => {
    const setup = "kubeadm-ha vip";
    await endpointScenarios(setup, cp);
    const lease = await times(runs, () => masterLost(cp, "lease-holder"));
    for (const name of ["kube-controller-manager", "kube-scheduler"]) {
      const xs = lease.flatMap((r) => r.leases.filter((l) => l.lease === name).map((l) => l.takeoverMs));
      if (xs.length) row(setup, `${name} Lease taken by a survivor`, xs);
    }
    row(
      setup,
      "etcd leader re-elected after SIGKILL",
      (await times(runs, () => etcdLeaderKilled(cp))).map((r) => r.electionMs),
    );
  });
  await withCluster("vip", KUBEADM_GUIDE, (cp) => endpointScenarios("kubeadm HA guide vip", cp));
  for (const [setup, variant] of [
    ["kubeadm-ha local-proxy", {}],
    ["Kubespray local proxy", KUBESPRAY],
  ] as Array<[string, EndpointVariant]>) {
    await withCluster("local-proxy", variant, async (cp) => {
      row(
        setup,
        "dead apiserver out of haproxy's rotation",
        (await times(runs, () => apiserverKilled(cp))).map((r) => r.removalMs),
      );
    });
  }
  console.log(`| setup | scenario | median ms | worst ms | runs (ms) |\n|---|---|---|---|---|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
