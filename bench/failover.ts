// Runs each failover scenario RUNS times (default 5) in the lab and prints the median
// and worst of what it measures. Needs root (network namespaces).
import { backendRemoval, masterLoss, vipTakeover } from "../lab/scenarios";
import { requireRoot } from "../lab/lab";
import { etcdScenario } from "../lab/etcd";

const runs = Number(process.env.RUNS ?? 5);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const line = (what: string, xs: number[]) => console.log(`${what.padEnd(58)} median ${String(median(xs)).padStart(5)} ms   worst ${String(Math.max(...xs)).padStart(5)} ms   (${xs.join(", ")})`);

async function main() {
  requireRoot();
  console.log(`failover, ${runs} runs each (targets: VIP and proxies under 3000 ms, etcd under 2000 ms)`);
  const v = [];
  const b = [];
  const h = [];
  for (let i = 0; i < runs; i++) v.push(await vipTakeover());
  for (let i = 0; i < runs; i++) b.push(await backendRemoval());
  for (let i = 0; i < runs; i++) h.push(await masterLoss());
  const e = [];
  for (let i = 0; i < runs; i++) e.push(await etcdScenario());
  line("VIP takeover after SIGKILL of keepalived", v.map((x) => x.takeoverMs));
  line("  client gap meanwhile", v.map((x) => x.clientGapMs));
  line("dead apiserver out of haproxy's rotation", b.map((x) => x.removalMs));
  line("  back in rotation after restart", b.map((x) => x.returnMs));
  line("VIP takeover after a whole master is lost", h.map((x) => x.takeoverMs));
  line("  client gap meanwhile", h.map((x) => x.clientGapMs));
  line("etcd leader re-election after SIGKILL of the leader", e.map((x) => x.leaderElectionMs));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
