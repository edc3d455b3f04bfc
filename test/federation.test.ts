// The four-region federation (three GCP members, one AWS) on the mock runtime, with
// its members' outputs taken from their own renders: service copies, load balancers,
// the three DNS levels, health checks, and what config changes do.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { inputs, ofType, problemsOf, renderOnce, renderVariant, VariantRender } from "./helpers";
import { RenderedResource, RenderResult } from "../render/render";
import { validateFederationConfig } from "../components/config/federation";
import { planFederation, serviceDnsNames } from "../components/plan/federation-plan";

/** Variants of the federation stack file (rendered side by side, next to copies of the member stack files). */
const VARIANTS = {
  "asia removed": (t: string) => t.replace("    - stack: fed-asia-east1\n", ""),
  "us-central1 excluded": (t: string) => t.replace("        fed-us-central1:\n          replicas: 3", "        fed-us-central1:\n          exclude: true"),
  "cloud dns": (t: string) => t.replace("    provider: route53\n", "    provider: clouddns\n    managedZone: acme-com\n"),
  "unknown member": (t: string) => t.replace("stack: fed-us-central1", "stack: fed-mars1"),
};
type Variant = VariantRender;

let r: RenderResult;
let variants: Record<keyof typeof VARIANTS, Variant>;
before(async () => {
  const names = Object.keys(VARIANTS) as Array<keyof typeof VARIANTS>;
  const [fed, ...rendered] = await Promise.all([renderOnce("fed-global"), ...names.map((n) => renderVariant("fed-global", "fed-variant", VARIANTS[n]))]);
  r = fed;
  variants = Object.fromEntries(names.map((n, i) => [n, rendered[i]])) as typeof variants;
});

const MEMBERS = ["fed-asia-east1", "fed-europe-west1", "fed-us-east1", "fed-us-central1"];
const records = (res: RenderedResource[]) => res.filter((x) => x.type === "aws:route53/record:Record").map((x) => x.inputs as Record<string, any>);

test("members are read through StackReferences, and their outputs come from their own renders", () => {
  const refs = ofType(r, "pulumi:pulumi:StackReference");
  assert.deepEqual(refs.map((x) => inputs(x).name).sort(), [...MEMBERS].sort());
  const members = r.outputs.members as Array<{ stack: string; cloud: string; region: string }>;
  assert.deepEqual(
    members.map((m) => [m.stack, m.cloud, m.region]),
    [
      ["fed-asia-east1", "gcp", "asia-east1"],
      ["fed-europe-west1", "gcp", "europe-west1"],
      ["fed-us-east1", "aws", "us-east-1"],
      ["fed-us-central1", "gcp", "us-central1"],
    ],
  );
});

test("one copy of each service per member, through that member's own Kubernetes provider", () => {
  const deployments = ofType(r, "kubernetes:apps/v1:Deployment");
  assert.equal(deployments.length, 4);
  const providers = ofType(r, "pulumi:providers:kubernetes");
  assert.equal(providers.length, 4);
  for (const p of providers) assert.equal(inputs(p).kubeconfig, "[secret]");
  const replicas = Object.fromEntries(deployments.map((d) => [d.name, inputs(d).spec.replicas]));
  assert.deepEqual(replicas, { "acme-nginx-asia-deployment": 2, "acme-nginx-eu-deployment": 2, "acme-nginx-use-deployment": 2, "acme-nginx-usc-deployment": 3 });
  for (const s of ofType(r, "kubernetes:core/v1:Service")) {
    assert.equal(inputs(s).spec.type, "NodePort");
    assert.deepEqual(
      inputs(s).spec.ports.map((p: { nodePort: number }) => p.nodePort),
      [30080],
    );
  }
});

test("mixed clouds: each copy gets its member cloud's own regional load balancer", () => {
  assert.equal(ofType(r, "kubeadm-ha:federation:GcpServiceLoadBalancer").length, 3);
  assert.equal(ofType(r, "kubeadm-ha:federation:AwsServiceLoadBalancer").length, 1);
  assert.deepEqual(
    ofType(r, "pulumi:providers:gcp")
      .map((p) => inputs(p).region)
      .sort(),
    ["asia-east1", "europe-west1", "us-central1"],
  );
  assert.ok(ofType(r, "pulumi:providers:aws").some((p) => inputs(p).region === "us-east-1"));
  for (const fr of ofType(r, "gcp:compute/forwardingRule:ForwardingRule")) assert.equal(inputs(fr).loadBalancingScheme, "EXTERNAL");
  const [nlb] = ofType(r, "aws:lb/loadBalancer:LoadBalancer");
  assert.equal(inputs(nlb).internal, false);
  // GCP passthrough delivers packets to the LB address: the Service lists it so kube-proxy takes them.
  for (const s of ofType(r, "kubernetes:core/v1:Service")) assert.equal(Boolean(inputs(s).spec.externalIPs), !s.name.includes("-use-"), s.name);
});

test("DNS names at KubeFed's three levels: global, region and zone", () => {
  const names = new Set(records(r.resources).map((x) => x.name));
  const n = serviceDnsNames("acme", "nginx", "default", "acme.com.");
  assert.ok(names.has("nginx.default.acme.svc.acme.com."));
  assert.ok(names.has(n.region("europe-west1")));
  assert.ok(names.has("nginx.default.acme.svc.europe-west1-b.europe-west1.acme.com."));
  assert.ok(names.has("nginx.default.acme.svc.us-east-1a.us-east-1.acme.com."));
  const global = records(r.resources).filter((x) => x.name === n.global);
  assert.equal(global.length, 4, "one latency record per member");
  assert.deepEqual(global.map((x) => x.latencyRoutingPolicies[0].region).sort(), ["ap-east-1", "eu-west-3", "us-east-1", "us-east-2"]);
  for (const x of records(r.resources).filter((y) => y.type === "A" && y.name !== n.global)) assert.equal(x.weightedRoutingPolicies[0].weight, 1);
  assert.equal(names.size, 1 + 4 + 12 + 1);
});

test("one health check per member endpoint, and every answer is tied to its member's check", () => {
  const checks = ofType(r, "aws:route53/healthCheck:HealthCheck");
  assert.equal(checks.length, 4);
  for (const c of checks) {
    assert.equal(inputs(c).type, "HTTP");
    assert.equal(inputs(c).resourcePath, "/");
    assert.equal(inputs(c).requestInterval, 10);
    assert.equal(inputs(c).failureThreshold, 3);
  }
  const checkByMember = Object.fromEntries(checks.map((c) => [inputs(c).tags["kubeadm-ha/member"], c.urn]));
  for (const rec of ofType(r, "aws:route53/record:Record").filter((x) => inputs(x).type === "A")) {
    assert.ok(rec.dependencies.includes(checkByMember[inputs(rec).setIdentifier]), `${rec.name} is not tied to its member's health check`);
  }
});

test("a convenience CNAME points at a region's name", () => {
  const alias = records(r.resources).find((x) => x.type === "CNAME")!;
  assert.equal(alias.name, "eu.nginx.acme.com.");
  assert.deepEqual(alias.records, ["nginx.default.acme.svc.europe-west1.acme.com."]);
});

test("a member removed from config leaves no records, checks or copies behind", () => {
  const v = variants["asia removed"];
  assert.equal(v.status, 0, v.stderr);
  const text = JSON.stringify(v.resources);
  assert.doesNotMatch(text, /asia/);
  assert.equal(v.resources.filter((x) => x.type === "aws:route53/healthCheck:HealthCheck").length, 3);
  assert.equal(records(v.resources).filter((x) => x.name === "nginx.default.acme.svc.acme.com.").length, 3);
});

test("a member excluded for a service gets no copy and no DNS answer for it", () => {
  const v = variants["us-central1 excluded"];
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.resources.filter((x) => x.type === "kubernetes:apps/v1:Deployment").length, 3);
  assert.ok(!records(v.resources).some((x) => x.setIdentifier === "fed-us-central1"));
});

test("Cloud DNS: geo routing globally, weighted per region and zone, over health-checked external endpoints", () => {
  const v = variants["cloud dns"];
  assert.equal(v.status, 0, v.stderr);
  const sets = v.resources.filter((x) => x.type === "gcp:dns/recordSet:RecordSet").map((x) => x.inputs as Record<string, any>);
  const global = sets.find((x) => x.name === "nginx.default.acme.svc.acme.com.")!;
  assert.deepEqual(global.routingPolicy.geos.map((g: { location: string }) => g.location).sort(), ["asia-east1", "europe-west1", "us-central1", "us-east4"]);
  for (const g of global.routingPolicy.geos) assert.ok(g.healthCheckedTargets.externalEndpoints.length >= 1);
  assert.ok(global.routingPolicy.healthCheck);
  const zone = sets.find((x) => x.name === "nginx.default.acme.svc.us-east-1b.us-east-1.acme.com.")!;
  assert.equal(zone.routingPolicy.wrrs.length, 1);
  assert.equal(v.resources.filter((x) => x.type === "gcp:compute/healthCheck:HealthCheck").length, 1, "Cloud DNS takes one check per record set; it probes every endpoint");
});

test("an unknown member stack is named, and nothing is registered", () => {
  const v = variants["unknown member"];
  assert.equal(v.status, 1);
  assert.match(v.stderr, /unknown member stack "fed-mars1"/);
});

const fed = () => ({
  layout: "federation",
  members: [{ stack: "a" }, { stack: "b" }],
  dns: { provider: "route53", domain: "acme.com." },
  services: [{ name: "web", image: "nginx", ports: [{ port: 80, nodePort: 30080 }], healthCheckPath: "/" }],
});
const fedProblems = (raw: Record<string, unknown>) => problemsOf(() => validateFederationConfig(raw, "acme"));

test("config errors: a duplicate member", () => {
  const p = fedProblems({ ...fed(), members: [{ stack: "a" }, { stack: "a" }] });
  assert.ok(p.some((x) => x.key === "kubeadm-ha:members[1].stack" && x.message.includes("twice")));
});

test("config errors: a service without a health-check path", () => {
  const { healthCheckPath: _, ...service } = fed().services[0];
  const p = fedProblems({ ...fed(), services: [service] });
  assert.ok(
    p.some((x) => x.key === "kubeadm-ha:services[0].healthCheckPath" && /required/.test(x.message)),
    JSON.stringify(p),
  );
});

test("config errors: a Cloud DNS domain without its trailing dot", () => {
  const p = fedProblems({ ...fed(), dns: { provider: "clouddns", domain: "acme.com", managedZone: "acme-com" } });
  assert.ok(p.some((x) => x.key === "kubeadm-ha:dns.domain" && x.fix.includes('"acme.com."')));
});

test("config errors: clashing node ports and overrides for non-members", () => {
  const s = fed().services[0];
  const p = fedProblems({ ...fed(), services: [s, { ...s, name: "api", overrides: { c: { replicas: 1 } } }] });
  assert.ok(p.some((x) => x.key === "kubeadm-ha:services[1].ports[0].nodePort"));
  assert.ok(p.some((x) => x.key === "kubeadm-ha:services[1].overrides.c"));
});

test("the plan refuses a member without worker pools", () => {
  const config = validateFederationConfig(fed(), "acme");
  const member = (stack: string, groups: string[]) => ({
    stack,
    export: {
      cluster: stack,
      cloud: "gcp" as const,
      region: "europe-west1",
      zones: ["europe-west1-b"],
      ingress: { cloud: "gcp" as const, network: "n", workerTag: "t", workerGroups: groups },
    },
  });
  assert.throws(() => planFederation(config, [member("a", ["g"]), member("b", [])]), /member b has no worker pools/);
});

test("each DNS provider routes by its own cloud's regions: another cloud's member goes to the nearest, and a region with none is refused naming the member", () => {
  const member = (stack: string, region: string) => ({
    stack,
    export: {
      cluster: stack,
      cloud: "gcp" as const,
      region,
      zones: [`${region}-b`],
      ingress: { cloud: "gcp" as const, network: "n", workerTag: "t", workerGroups: ["g"] },
    },
  });
  const route53 = validateFederationConfig(fed(), "acme");
  const regions = (plan: ReturnType<typeof planFederation>) => [...new Set(plan.records.flatMap((r) => r.targets.map((t) => t.routingRegion)))].sort();
  assert.deepEqual(regions(planFederation(route53, [member("a", "europe-west1"), member("b", "us-east1")])), ["eu-west-3", "us-east-1"]);
  const clouddns = validateFederationConfig({ ...fed(), dns: { provider: "clouddns", domain: "acme.com.", managedZone: "acme-com" } }, "acme");
  assert.deepEqual(regions(planFederation(clouddns, [member("a", "europe-west1"), member("b", "us-east1")])), ["europe-west1", "us-east1"]);
  assert.throws(
    () => planFederation(route53, [member("a", "europe-west1"), member("b", "mars-north1")]),
    (e: Error) => /members\[1\]/.test(JSON.stringify(e)) && /member b is in gcp region mars-north1, which has no nearest AWS region for route53 routing/.test(e.message),
  );
});
