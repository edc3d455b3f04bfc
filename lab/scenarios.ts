// Failover scenarios on the lab's VIP cluster. Each builds a fresh lab, measures,
// and tears everything down, also on failure.
import { Lab, longestGap, vipCluster } from "./lab";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withLab<T>(f: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = new Lab();
  try {
    return await f(lab);
  } finally {
    lab.close();
  }
}

export interface VipTakeover {
  from: string;
  to: string;
  /** From the SIGKILL to the VIP on another master, ms. */
  takeoverMs: number;
  /** Longest stretch the client got no answer, ms. */
  clientGapMs: number;
  failedRequests: number;
  requests: number;
}

/** Faults the VIP holder and waits until another master holds the VIP, while the client probes. */
async function vipMoves(lab: Lab, fault: (holder: string) => number, probeMs: number) {
  const c = await vipCluster(lab);
  const from = lab.holderOf(c.vip, c.names)!;
  const probe = lab.probe(c.client, c.url, probeMs);
  await sleep(1500);
  const t = fault(from);
  const others = c.names.filter((n) => n !== from);
  const moved = await lab.waitFor("the VIP to move", () => lab.holderOf(c.vip, others) !== undefined);
  const samples = await probe;
  return { from, to: lab.holderOf(c.vip, others)!, takeoverMs: moved - t, clientGapMs: longestGap(samples, t), samples };
}

/** SIGKILL the keepalived holding the VIP: the VIP moves; the client loses requests only during the gap. */
export function vipTakeover(): Promise<VipTakeover> {
  return withLab(async (lab) => {
    const { samples, ...r } = await vipMoves(lab, (holder) => lab.kill(holder, "keepalived"), 6000);
    return { ...r, failedRequests: samples.filter((s) => !s.ok).length, requests: samples.length };
  });
}

export interface BackendRemoval {
  killed: string;
  /** From killing the apiserver to the proxy marking it DOWN, ms. */
  removalMs: number;
  /** From restarting it to the proxy marking it UP again, ms. */
  returnMs: number;
  failedRequests: number;
  requests: number;
}

/** Kill one apiserver (stand-in): the proxy stops sending it traffic; bring it back: it returns to rotation. */
export function backendRemoval(): Promise<BackendRemoval> {
  return withLab(async (lab) => {
    const c = await vipCluster(lab);
    const holder = lab.holderOf(c.vip, c.names)!;
    const killed = c.names.find((n) => n !== holder)!;
    const logged = (state: "DOWN" | "UP", after: number) => () =>
      lab.output(holder, "haproxy").some((l) => Number(l.split(" ")[0]) >= after && l.includes(`kube-apiservers/${killed} is ${state}`));
    const probe = lab.probe(c.client, c.url, 9000);
    await sleep(1500);
    const t = lab.kill(killed, "apiserver");
    const down = await lab.waitFor(`haproxy on ${holder} to mark ${killed} DOWN`, logged("DOWN", t));
    await sleep(1000);
    const host = lab.hosts.get(killed)!;
    const key = `${lab.dir}/tls.key`;
    const crt = `${lab.dir}/tls.crt`;
    const t2 = Date.now();
    await lab.start(host, "apiserver", [process.execPath, `${__dirname}/apiserver-standin.js`, "6443", crt, key, "200", "ok", "0.0.0.0"], /listening/);
    const up = await lab.waitFor(`haproxy on ${holder} to mark ${killed} UP`, logged("UP", t2));
    const samples = await probe;
    return { killed, removalMs: down - t, returnMs: up - t2, failedRequests: samples.filter((s) => !s.ok).length, requests: samples.length };
  });
}

export interface HostLoss {
  lost: string;
  takeoverMs: number;
  clientGapMs: number;
  answersAfter: boolean;
}

/** Kill a whole master (link down, every process in its namespace): the endpoint keeps answering. */
export function masterLoss(): Promise<HostLoss> {
  return withLab(async (lab) => {
    const { samples, from, takeoverMs, clientGapMs } = await vipMoves(lab, (holder) => lab.killHost(holder), 7000);
    const tail = samples.slice(-10);
    return { lost: from, takeoverMs, clientGapMs, answersAfter: tail.length > 0 && tail.every((x) => x.ok) };
  });
}
