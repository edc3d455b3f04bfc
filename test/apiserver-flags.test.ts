// The flags the program adds to kube-apiserver, on every shipped cluster stack. That the
// flags reach the static pod kubeadm writes is test/kubeadm.test.ts's; that a restarted
// apiserver is out of the endpoint's rotation before it stops is test/lab.test.ts's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "path";
import { fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { apiserverArgs, APISERVER_GRACE_S, shutdownDelaySeconds } from "../components/plan/apiserver-flags";
import { endpointMarkDownSeconds } from "../components/plan/endpoint-checks";
import { readStackFile } from "../render/render";
import { ROOT, SHIPPED_STACKS } from "./helpers";

const clusters = SHIPPED_STACKS.map((name) => ({ name, raw: readStackFile(join(ROOT, "stacks"), name).config })).filter((s) => s.raw["kubeadm-ha:layout"] !== "federation");

test("a stopping apiserver keeps serving until its endpoint has taken it out, and stops within the kubelet's grace", () => {
  const seen = new Set<string>();
  for (const { name, raw } of clusters) {
    const c = validateClusterConfig(fromRawConfig(raw), name, raw);
    const delay = shutdownDelaySeconds(c);
    assert.equal(apiserverArgs(c)["shutdown-delay-duration"], `${delay}s`, name);
    assert.ok(delay > endpointMarkDownSeconds(c), `${name}: ${delay} s is not past the endpoint's ${endpointMarkDownSeconds(c)} s`);
    // The delay leaves the apiserver time to finish the requests in flight before the kubelet's SIGKILL.
    assert.ok(delay <= APISERVER_GRACE_S - 3, `${name}: ${delay} s leaves no time to drain within ${APISERVER_GRACE_S} s`);
    seen.add(`${c.platform}/${c.endpoint.mode}`);
  }
  // Every kind of endpoint is among the shipped stacks.
  assert.deepEqual([...seen].sort(), ["aws/cloud-lb", "gcp/cloud-lb", "static/local-proxy", "static/vip"]);
});

test("haproxy's checks take a stopping apiserver out within 3 s, GCP's load balancer within 8 s, AWS's within 25 s", () => {
  const of = (name: string) => {
    const raw = readStackFile(join(ROOT, "stacks"), name).config;
    return endpointMarkDownSeconds(validateClusterConfig(fromRawConfig(raw), name, raw));
  };
  assert.deepEqual([of("onprem-vip"), of("onprem-local-proxy"), of("gcp-three-zone"), of("aws-three-az")], [3, 3, 8, 25]);
});
