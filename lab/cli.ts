// npm run lab [-- --mode vip|local-proxy]: builds a real control plane from the rendered
// onprem stacks in network namespaces (kubeadm phases; etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler from the toolchain; keepalived and haproxy on
// the rendered files), runs every failover scenario once and prints what it measured.
import { parseArgs } from "util";
import { ControlPlane } from "./controlplane";
import { apiserverKilled, apiserverRestarted, etcdLeaderKilled, kubectlCreatesAndReads, masterLost, proxyKilledOnVipHolder, twoMastersDown } from "./cp-scenarios";
import { EndpointMode, Lab, labLog, labModes, requireRoot, runLabCommand } from "./lab";

const log = labLog;

async function runMode(mode: EndpointMode) {
  const lab = new Lab();
  try {
    log(`${mode}: building the control plane (kubeadm init phases on master-0, control-plane joins one at a time)`);
    const t0 = Date.now();
    const cp = await new ControlPlane(lab, mode, {}, log).start();
    log(`${mode}: 3 masters ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; endpoint ${cp.server}${cp.vip ? ` (VIP ${cp.vip})` : " (haproxy on 127.0.0.1 of every node)"}`);
    const k = await kubectlCreatesAndReads(cp);
    log(`kubectl through the endpoint: created ${k.created}, read back "${k.read}"`);
    const a = await apiserverKilled(cp);
    log(
      `kube-apiserver on ${a.killed} SIGKILLed: haproxy on ${a.proxy} marked it DOWN after ${a.removalMs} ms; ready again, UP after ${a.returnMs} ms; ${a.failedRequests}/${a.requests} requests failed`,
    );
    const g = await apiserverRestarted(cp);
    log(
      `kube-apiserver on ${g.restarted} restarted as the kubelet replaces it (SIGTERM, shutdown delay ${g.shutdownDelayS} s): haproxy on ${g.proxy} marked it DOWN after ${g.removalMs} ms, it exited after ${g.exitMs} ms; ${g.refused.length}/${g.writes} writes refused, ${g.unanswered.length} unanswered`,
    );
    const l = await masterLost(cp, "lease-holder");
    log(
      `master ${l.lost} lost (link down, every process killed): ${l.leases.map((x) => `${x.lease} Lease taken by ${x.newHolder} after ${x.takeoverMs} ms`).join("; ")}${l.vipMovedMs !== undefined ? `; VIP moved after ${l.vipMovedMs} ms` : ""}; client gap ${l.clientGapMs} ms; ${l.writesAfter} writes acknowledged after the loss; answering at the end: ${l.answersAfter}`,
    );
    if (mode === "vip") {
      const p = await proxyKilledOnVipHolder(cp);
      log(`haproxy on the VIP holder ${p.holder} SIGKILLed: VIP moved after ${p.vipMovedMs} ms; client gap ${p.clientGapMs} ms`);
    }
    const e = await etcdLeaderKilled(cp);
    log(`etcd leader on ${e.killed} SIGKILLed: new leader after ${e.electionMs} ms`);
    const q = await twoMastersDown(cp);
    log(
      `two masters down (${q.down.join(", ")}): ${q.acknowledgedWithTwoDown}/${q.attemptsWithTwoDown} writes acknowledged; back up: ${q.lost} of ${q.acknowledged} acknowledged writes missing`,
    );
  } finally {
    lab.close();
  }
}

async function main() {
  const { values } = parseArgs({ options: { mode: { type: "string" } } });
  const modes = labModes(values.mode);
  requireRoot();
  for (const m of modes) await runMode(m);
}

runLabCommand(main);
