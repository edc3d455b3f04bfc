// The address maths (config/cidr.ts) and the plan's address layout, as properties over
// generated networks (fast-check, as awsx tests its subnet maths): subnets cut from a
// network stay inside it and never overlap; every fixed address the plan gives (masters,
// the load balancer, the bastion, etcd machines) is a host address of its subnet, and no two
// machines share one, for any node network validation accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { hasHostBits, hostAt, networkOf, overlaps, parseCidr, prefixOf, sizeOf, subnetAt } from "../components/config/cidr";
import { validateClusterConfig } from "../components/config/validate";
import { AWS_MAX_NODE_CIDR_PREFIX } from "../components/config/platforms/aws";
import { awsSubnets, planCluster } from "../components/plan/cluster-plan";

/** An IPv4 network in CIDR form with a prefix in [min, max] (host bits cleared). */
const network = (min: number, max: number) =>
  fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min, max })).map(([n, p]) => {
    const base = p === 0 ? 0 : (n >>> (32 - p)) << (32 - p);
    const ip = [24, 16, 8, 0].map((s) => ((base >>> s) & 255).toString()).join(".");
    return `${ip}/${p}`;
  });

const toNumber = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
const first = (cidr: string) => toNumber(hostAt(cidr, 0));
const last = (cidr: string) => first(cidr) + sizeOf(cidr) - 1;

test("a network as written is a CIDR without host bits; networkOf gives it back; it overlaps itself", () => {
  fc.assert(
    fc.property(network(0, 32), (cidr) => {
      assert.ok(parseCidr(cidr), cidr);
      assert.equal(hasHostBits(cidr), false);
      assert.equal(networkOf(cidr), cidr);
      assert.ok(overlaps(cidr, cidr));
    }),
  );
});

test("the n-th address of a network is inside it for n below its size, and there is no address past its end", () => {
  fc.assert(
    fc.property(
      network(8, 32).chain((cidr) => fc.tuple(fc.constant(cidr), fc.integer({ min: 0, max: sizeOf(cidr) - 1 }))),
      ([cidr, n]) => {
        const ip = hostAt(cidr, n);
        assert.equal(toNumber(ip), first(cidr) + n);
        assert.ok(overlaps(`${ip}/32`, cidr));
        assert.throws(() => hostAt(cidr, sizeOf(cidr)), /has no address number/);
      },
    ),
  );
});

test("subnets cut from a network lie inside it, back to back, and two different ones never overlap", () => {
  fc.assert(
    fc.property(
      network(8, 30).chain((cidr) =>
        fc.integer({ min: prefixOf(cidr), max: Math.min(32, prefixOf(cidr) + 6) }).chain((q) => {
          const count = 2 ** (q - prefixOf(cidr));
          return fc.tuple(fc.constant(cidr), fc.constant(q), fc.integer({ min: 0, max: count - 1 }), fc.integer({ min: 0, max: count - 1 }));
        }),
      ),
      ([cidr, q, i, j]) => {
        const a = subnetAt(cidr, q, i);
        assert.equal(prefixOf(a), q);
        assert.equal(hasHostBits(a), false);
        assert.ok(first(a) >= first(cidr) && last(a) <= last(cidr), `${a} outside ${cidr}`);
        assert.equal(first(a), first(cidr) + i * sizeOf(a), "back to back from the start");
        assert.equal(overlaps(a, subnetAt(cidr, q, j)), i === j, `${a} and subnet ${j}`);
        assert.throws(() => subnetAt(cidr, q, 2 ** (q - prefixOf(cidr))), /subnets, not/);
      },
    ),
  );
});

test("AWS: every zone's private and public subnets lie inside the node network and overlap no other, for any network validation accepts", () => {
  fc.assert(
    fc.property(network(8, AWS_MAX_NODE_CIDR_PREFIX), fc.integer({ min: 1, max: 6 }), (cidr, zones) => {
      const subnets = awsSubnets(
        "c",
        cidr,
        Array.from({ length: zones }, (_, i) => `us-east-1${"abcdef"[i]}`),
      );
      assert.equal(subnets.length, 2 * zones);
      for (const [k, s] of subnets.entries()) {
        assert.ok(first(s.cidr) >= first(cidr) && last(s.cidr) <= last(cidr), `${s.cidr} outside ${cidr}`);
        for (const other of subnets.slice(k + 1)) assert.ok(!overlaps(s.cidr, other.cidr), `${s.cidr} overlaps ${other.cidr}`);
      }
      // A public subnet is a /28 at least: a bastion and a NAT gateway, and AWS keeps five addresses of each.
      for (const s of subnets.filter((x) => x.public)) assert.ok(prefixOf(s.cidr) <= 28, s.cidr);
    }),
  );
});

test("for any node network validation accepts, every fixed address the plan gives is a host address of its subnet, and no two machines share one", () => {
  const zones = { gcp: ["europe-west1-b", "europe-west1-c", "europe-west1-d"], aws: ["us-east-1a", "us-east-1b", "us-east-1c"] };
  fc.assert(
    fc.property(
      fc.constantFrom("gcp" as const, "aws" as const),
      // Inside 172.16.0.0/12, apart from the pod and service networks below.
      network(12, 26).map((c) => `172.${16 + ((toNumber(c.split("/")[0]) >>> 20) & 15)}.${c.split(".").slice(2).join(".")}`),
      fc.constantFrom(1, 3, 5),
      fc.constantFrom("stacked" as const, "external" as const),
      (platform, rawCidr, masters, topology) => {
        const prefix = prefixOf(rawCidr);
        fc.pre(platform === "gcp" || prefix <= AWS_MAX_NODE_CIDR_PREFIX);
        const cidr = networkOf(rawCidr);
        const config = validateClusterConfig(
          {
            platform,
            clusterName: "prop",
            region: platform === "aws" ? "us-east-1" : "europe-west1",
            zones: zones[platform],
            controlPlane: { count: masters, ...(masters === 1 ? { highAvailability: false } : {}) },
            etcd: { topology, ...(topology === "external" ? { count: masters === 1 ? 1 : 3 } : {}) },
            network: { nodeCidr: cidr, podCidr: "10.244.0.0/16", serviceCidr: "10.96.0.0/12" },
            nodePools: [{ name: "general" }],
            adminCidrs: ["198.51.100.0/24"],
          },
          "prop",
          platform === "aws" ? { "aws:region": "us-east-1" } : { "gcp:project": "prop-project", "gcp:region": "europe-west1" },
        );
        const plan = planCluster(config);
        const subnetOf = new Map(plan.subnets.map((s) => [s.name, s.cidr]));
        const machines = [
          ...plan.masters.map((m) => ({ name: m.name, ip: m.ip, subnet: m.subnet })),
          ...plan.etcd.members.map((e) => ({ name: e.name, ip: e.ip, subnet: e.subnet })),
          ...(plan.bastion.ip ? [{ name: plan.bastion.name, ip: plan.bastion.ip, subnet: plan.bastion.subnet }] : []),
        ];
        const lb = plan.endpoint.addresses;
        const taken = new Set<string>();
        for (const m of machines) {
          const subnet = subnetOf.get(m.subnet) ?? assert.fail(`${m.name}: no subnet ${m.subnet}`);
          const n = toNumber(m.ip) - first(subnet);
          assert.ok(n > 0 && n < sizeOf(subnet) - 1, `${m.name} ${m.ip} is not a host address of ${subnet}`);
          assert.ok(!taken.has(m.ip) && !lb.includes(m.ip), `${m.name} ${m.ip} taken twice`);
          taken.add(m.ip);
        }
        for (const a of lb)
          assert.ok(
            plan.subnets.some((s) => !s.public && overlaps(`${a}/32`, s.cidr)),
            `LB ${a} outside every private subnet`,
          );
      },
    ),
  );
});
