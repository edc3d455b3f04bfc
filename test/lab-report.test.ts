// How the lab reports a failed `pulumi up`: the lines that matter are not pushed out of
// the report by a client's retry warnings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { collapseRepeats } from "../engine/pulumi";
import { unreported } from "../lab/cluster-cli";

test("a failed up's report keeps kubeadm's error: retry warnings that differ only in their timestamp are folded into a count", () => {
  const retry = (ts: string) =>
    `    {"level":"warn","ts":"${ts}","logger":"etcd-client","msg":"retrying of unary invoker failed","error":"can only promote a learner member which is in sync with leader"}`;
  const lines = ["[etcd] Waiting for the new etcd member to join the cluster", ...["15:49:24.3", "15:49:24.8", "15:49:25.3"].map(retry), "error execution phase etcd-join: ..."];
  assert.deepEqual(collapseRepeats(lines), [lines[0], lines[1], "    (2 more like the line above)", lines[4]]);
  assert.deepEqual(collapseRepeats(["a", "b", "b"]), ["a", "b", "    (1 more like the line above)"]);
});

test("a master whose report has no etcd lines (its etcd never started) is named as one the report cannot explain", () => {
  const full = (host: string) => ({ host, containers: "kube-system_etcd-x/etcd: 1 start(s), last written 10:00:00", etcd: "{...}", kubelet: "Started kubelet" });
  const reports = [full("m-0"), { ...full("m-1"), etcd: "" }];
  assert.deepEqual(unreported(reports, ["m-0", "m-1", "m-2"]), ["m-1", "m-2"]);
  assert.deepEqual(unreported([full("m-0")], ["m-0"]), []);
});
