// npm run lab: runs every failover scenario once in network namespaces and prints what it measured.
import { LabError, requireRoot } from "./lab";
import { backendRemoval, masterLoss, vipTakeover } from "./scenarios";
import { etcdScenario } from "./etcd";

async function main() {
  requireRoot();
  console.log("failover lab: the onprem-vip stack's 3 masters (haproxy + keepalived on its rendered files, apiserver stand-in) and a client, one network namespace each");
  const v = await vipTakeover();
  console.log(`VIP takeover after SIGKILL of keepalived on ${v.from}: ${v.to} holds the VIP after ${v.takeoverMs} ms; client gap ${v.clientGapMs} ms, ${v.failedRequests}/${v.requests} requests failed`);
  const b = await backendRemoval();
  console.log(`apiserver on ${b.killed} killed: haproxy marked it DOWN after ${b.removalMs} ms; restarted: UP after ${b.returnMs} ms; ${b.failedRequests}/${b.requests} requests failed`);
  const h = await masterLoss();
  console.log(`whole master ${h.lost} lost: VIP moved after ${h.takeoverMs} ms; client gap ${h.clientGapMs} ms; answering afterwards: ${h.answersAfter}`);
  const e = await etcdScenario();
  console.log(`etcd (3 members from the render): leader killed, new leader after ${e.leaderElectionMs} ms; ${e.writesWithOneDown} writes acknowledged with one member down, ${e.acknowledgedWithTwoDown}/${e.attemptsWithTwoDown} with two down; after restart ${e.lost} of ${e.acknowledged} acknowledged writes missing`);
}

main().catch((e) => {
  console.error(e instanceof LabError ? `lab: ${e.message}` : e);
  process.exit(1);
});
