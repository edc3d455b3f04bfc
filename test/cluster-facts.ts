// Facts every cluster stack must hold, whatever the platform: the bootstrap order,
// the endpoint and its certificate, leader election, and secrets. Registered by
// gcp.test.ts and aws.test.ts against their own render.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { file, inputs, named, ofType, renderOnce } from "./helpers";
import { RenderResult, SECRET } from "../render/render";
import { sha256 } from "../bundle/oci";
import { connectionChangedCommand } from "../components/plan/scripts";

interface Master {
  name: string;
  zone: string;
  address: string;
}

export function clusterFacts(stack: string) {
  describe(`cluster facts (${stack})`, () => {
    let r: RenderResult;
    let masters: Master[];
    let cluster: string;
    before(async () => {
      r = await renderOnce(stack);
      masters = r.outputs.masters as Master[];
      cluster = masters[0].name.replace(/-master-0$/, "");
    });
    const m = (i: number) => masters[i].name;
    /** A step for any one healthy master (validation, kubeconfig, membership). */
    const cp = (step: string) => `${cluster}-control-plane-${step}`;
    const deps = (name: string) => named(r, name).dependencies.map((u) => u.split("::").pop());

    test("control-plane nodes span three zones, one master per zone", () => {
      assert.equal(masters.length, 3);
      assert.equal(new Set(masters.map((x) => x.zone)).size, 3);
    });

    test("master-0's step comes first; the other masters join one at a time, each after the previous one", () => {
      assert.ok(deps(`${m(1)}-join`).includes(`${m(0)}-init`));
      assert.ok(deps(`${m(2)}-join`).includes(`${m(1)}-join`));
      assert.ok(!deps(`${m(1)}-join`).includes(`${m(2)}-join`));
      assert.ok(deps(cp("prune-members")).includes(`${m(2)}-healthy`));
      for (const [i, step] of [
        [0, "init"],
        [1, "join"],
        [2, "join"],
      ] as const) {
        const cmd = file(r, `${m(i)}/commands/${step}.sh`);
        assert.match(cmd, new RegExp(`kubeadm-ha-member ${m(i)}\\b`));
        // Each master waits for itself, never for "exactly N members": re-runs pass in any cluster size.
        assert.match(cmd, new RegExp(`kubeadm-ha-wait-member ${m(i)}\\n`));
      }
    });

    test("whether a master inits or joins is decided on the machine: every master can join, only master-0 can init", () => {
      for (const x of masters) {
        assert.ok(
          r.files.some((f) => f.path === `${x.name}/etc/kubeadm-ha/kubeadm-join.yaml`),
          `${x.name} has no join config`,
        );
        assert.equal(file(r, `${x.name}/usr/local/sbin/kubeadm-ha-member`), file(r, `${m(0)}/usr/local/sbin/kubeadm-ha-member`));
      }
      assert.ok(!r.files.some((f) => f.path === `${m(1)}/etc/kubeadm-ha/kubeadm-init.yaml`));
      assert.match(file(r, `${m(0)}/usr/local/sbin/kubeadm-ha-member`), new RegExp(`\\nfirst="${m(0)}"\\n`));
    });

    test("a master joins only after the previous one is Ready and a healthy voting etcd member", () => {
      const wait = file(r, `${m(0)}/usr/local/sbin/kubeadm-ha-wait-member`);
      assert.match(wait, /Ready/);
      assert.match(wait, /is not a voting etcd member/);
      // Only the stack's masters count: a learner or a dropped master's member never holds a turn.
      assert.match(wait, new RegExp(`\\nmasters=" ${masters.map((x) => x.name).join(" ")} "\\n`));
      assert.match(wait, /endpoint health --endpoints="\$urls"/);
    });

    test("worker pools start only after the control plane is validated and the bootstrap token they join with is in the cluster", () => {
      const pools = r.resources.filter((x) => x.type === "gcp:compute/instanceGroupManager:InstanceGroupManager" || x.type === "aws:autoscaling/group:Group");
      assert.ok(pools.length >= 3);
      for (const g of pools)
        assert.ok(
          g.dependencies.some((u) => u.endsWith(`::${cp("bootstrap-token")}`)),
          `${g.name} does not wait for the token`,
        );
      assert.ok(deps(cp("bootstrap-token")).includes(cp("validate")));
      // The token's secret store is written once the token is in the cluster; old tokens go after the pools.
      const store = r.resources.find((x) => x.type === "gcp:secretmanager/secretVersion:SecretVersion" || x.type === "aws:ssm/parameter:Parameter")!;
      assert.ok(
        store.dependencies.some((u) => u.endsWith(`::${cp("bootstrap-token")}`)),
        `${store.name} is written before the token is in the cluster`,
      );
      assert.ok(deps(cp("bootstrap-token-prune")).includes(cp("bootstrap-token")));
    });

    test("the endpoint name, every LB address and every master address are in the apiserver certificate", () => {
      const init = file(r, `${m(0)}/etc/kubeadm-ha/kubeadm-init.yaml`);
      const sans = [`api.${cluster}.internal`, ...(r.outputs.endpointAddresses as string[]), ...masters.map((x) => x.address)];
      for (const san of sans) assert.match(init, new RegExp(`\\n    - ${san.replace(/\./g, "\\.")}\\n`), san);
      assert.match(init, new RegExp(`controlPlaneEndpoint: api\\.${cluster}\\.internal:6443`));
    });

    test("masters resolve the endpoint to a master that answers while joining and to themselves afterwards", () => {
      const join = file(r, `${m(2)}/commands/join.sh`);
      const member = join.indexOf(`kubeadm-ha-member ${m(2)}\n`);
      assert.ok(member > 0 && join.indexOf(`kubeadm-ha-set-endpoint ${masters[2].address}\n`) > member);
      const script = file(r, `${m(2)}/usr/local/sbin/kubeadm-ha-member`);
      assert.ok(script.indexOf('kubeadm-ha-set-endpoint "${through:-$peer}"') < script.indexOf("kubeadm join --config"));
    });

    test("scheduler and controller-manager run with --leader-elect=true", () => {
      const sections = file(r, `${m(0)}/etc/kubeadm-ha/kubeadm-init.yaml`).split(/\n(?=[a-zA-Z])/);
      for (const component of ["controllerManager", "scheduler"]) {
        const s = sections.find((x) => x.startsWith(component + ":"));
        assert.ok(s && /name: leader-elect\n\s+value: "true"/.test(s), `${component} without leader-elect`);
      }
    });

    test("PKI, token and kubeconfig are secrets; masters' boot configs and instances hold none of them", () => {
      for (const p of ["ca.key", "sa.key", "front-proxy-ca.key", "etcd/ca.key"]) assert.equal(file(r, `${m(1)}/etc/kubernetes/pki/${p}`), SECRET);
      assert.equal(file(r, `${m(1)}/etc/kubeadm-ha/secrets/bootstrap-token`), SECRET);
      assert.equal(r.outputs.kubeconfig, SECRET);
      for (const x of masters) {
        const boot = file(r, `${x.name}/cloud-init.yaml`);
        assert.notEqual(boot, SECRET);
        assert.doesNotMatch(boot, /PRIVATE KEY|@@KUBEADM_HA_BOOTSTRAP_TOKEN@@/);
        const instance = r.resources.find((y) => y.name === x.name && /instance:Instance$/.test(y.type))!;
        assert.ok(!JSON.stringify(instance.inputs).includes(SECRET), `${x.name}'s instance carries a secret`);
      }
      for (const k of ofType(r, "tls:index/privateKey:PrivateKey")) assert.ok(!JSON.stringify(k.inputs).includes("PRIVATE"));
    });

    test("kubeadm configs carry the token placeholder, never the token", () => {
      assert.match(file(r, `${m(0)}/etc/kubeadm-ha/kubeadm-init.yaml`), /token: "@@KUBEADM_HA_BOOTSTRAP_TOKEN@@"/);
      assert.match(file(r, `${cluster}-general/etc/kubeadm-ha/kubeadm-join.yaml.tmpl`), /caCertHashes:\n\s+- sha256:[0-9a-f]{64}\n/);
    });

    test("kubeadm init never prints the bootstrap token into the step's output (logs and state)", () => {
      assert.match(file(r, `${m(0)}/usr/local/sbin/kubeadm-ha-member`), /\n {4}kubeadm init --config \S+ --skip-token-print\n/);
    });

    test("a step runs again when its machine, command or input changes; a change in how it connects runs nothing", () => {
      const steps = ofType(r, "command:remote:Command").filter((x) => inputs(x).create !== undefined);
      assert.ok(steps.length > 0);
      const update = connectionChangedCommand();
      for (const step of steps) {
        const i = inputs(step);
        // The kubeconfig's stdout is a stack output: an update prints it again.
        assert.equal(i.update, step.name === cp("kubeconfig") ? undefined : update, `${step.name}: an update would run its create command again`);
        if (i.create.includes("kubeadm-ha-etcd-member show")) continue; // replaced only with its master's VM (above)
        assert.ok(i.triggers.includes(sha256(i.create)), `${step.name}: a changed command would not run it again`);
        if (i.stdin !== undefined)
          assert.ok(
            i.triggers.some((t: unknown) => t === SECRET || t === sha256(i.stdin)),
            `${step.name}: a changed input would not run it again`,
          );
      }
      assert.ok(
        !ofType(r, "command:remote:Command").some((x) => JSON.stringify(inputs(x).connection ?? {}).includes("agentSocketPath")),
        "an agent socket path that differs per shell is in a connection",
      );
    });

    test("a replaced master's old member is cleared by the new machine as it joins; no step removes one from a fixed peer", () => {
      assert.match(file(r, `${m(1)}/usr/local/sbin/kubeadm-ha-member`), /stale/);
      for (const [i, peer] of [
        [0, 1],
        [1, 0],
        [2, 0],
      ]) {
        const step = named(r, cp(`etcd-member-${m(i)}`));
        assert.equal(inputs(step).delete, undefined, `${step.name} removes a member when it goes`);
        assert.match(inputs(step).create, new RegExp(`kubeadm-ha-etcd-member show ${m(i)} https://${masters[i].address.replace(/\\./g, "\\\\.")}:2380\\n`));
        assert.equal(inputs(step).triggers.length, 1, "replaced only with its own master's VM, never with another's");
        // It was a peer's step: the alias carries its state over, so moving it replaces nothing.
        const parentChain = step.urn.split("::")[2];
        assert.deepEqual(step.options.aliases, [`${step.urn.split("::").slice(0, 2).join("::")}::${parentChain}::${m(peer)}-etcd-member-${m(i)}`]);
      }
      for (const x of masters) {
        const instance = r.resources.find((y) => y.name === x.name && /instance:Instance$/.test(y.type))!;
        assert.equal(instance.options.deleteBeforeReplace, true, `${x.name}: its reserved address fits one VM at a time`);
      }
    });

    test("after the joins, the members and Nodes of masters the stack no longer has are pruned, then the masters upgraded, reconfigured and writing with the cluster's key, then the control plane is validated", () => {
      const prune = named(r, cp("prune-members"));
      assert.match(inputs(prune).create, new RegExp(`kubeadm-ha-etcd-member prune ${m(0)} ${m(1)} ${m(2)}\\n`));
      for (let i = 0; i < 3; i++) assert.ok(deps(cp("prune-members")).includes(cp(`etcd-member-${m(i)}`)));
      // Validated after the masters' upgrade steps, which wait for the pruning (a new release reaches them one at a time).
      assert.ok(deps(`${m(0)}-upgrade`).includes(cp("prune-members")));
      // The stack's ClusterConfiguration onto each master in turn, after the upgrades.
      assert.ok(deps(`${m(0)}-control-plane-config`).includes(`${m(2)}-upgrade`));
      for (let i = 1; i < 3; i++) assert.ok(deps(`${m(i)}-control-plane-config`).includes(`${m(i - 1)}-control-plane-config`));
      // Every master writes with the cluster's key once all read it; then every Secret is written again.
      for (let i = 0; i < 3; i++) assert.ok(deps(`${m(i)}-encryption`).includes(`${m(2)}-control-plane-config`));
      for (let i = 0; i < 3; i++) assert.ok(deps(cp("encryption-rewrite")).includes(`${m(i)}-encryption`));
      assert.ok(deps(`${m(0)}-certificates`).includes(cp("encryption-rewrite")));
      // Certificates renewed when due, one master after the other, before the validation.
      for (let i = 1; i < 3; i++) assert.ok(deps(`${m(i)}-certificates`).includes(`${m(i - 1)}-certificates`));
      assert.ok(deps(cp("validate")).includes(`${m(2)}-certificates`));
    });

    test("every master has the cluster's encryption config in place before its apiserver first starts (init, join)", () => {
      for (let i = 0; i < 3; i++) {
        assert.ok(deps(`${m(i)}-${i === 0 ? "init" : "join"}`).includes(`${m(i)}-encryption-read`));
        assert.ok(deps(`${m(i)}-encryption-read`).includes(`${m(i)}-secrets`), "the secrets step stages the configs first");
      }
    });

    test("the kubeconfig step keeps its output secret and out of the logs", () => {
      const step = named(r, cp("kubeconfig"));
      assert.ok(step.options.additionalSecretOutputs?.includes("stdout"));
      assert.equal(inputs(step).logging, "stderr");
    });

    test("the steps that need any one healthy master connect through the endpoint's SSH forwarding, never to a fixed master", () => {
      const steps = ofType(r, "command:remote:Command").filter((x) => x.name.startsWith(cp("")));
      // The blue-green roll's steps: one Ready wait per pool, one drain hook per zone's group.
      const workerGroups = r.resources.filter((x) => /(instanceGroupManager:InstanceGroupManager|autoscaling\/group:Group)$/.test(x.type)).map((x) => x.name);
      assert.deepEqual(
        steps.map((x) => x.name.slice(cp("").length)).sort(),
        [
          "bootstrap-token",
          "bootstrap-token-prune",
          ...workerGroups.map((g) => "drain-" + g).sort(),
          "encryption-rewrite",
          ...[0, 1, 2].map((i) => "etcd-member-" + m(i)),
          "kubeconfig",
          "prune-members",
          "ready-general",
          ...[0, 1, 2].map((i) => "remove-" + m(i)),
          "validate",
        ].sort(),
      );
      const sshForwarding = r.resources.filter((x) => /ssh-rule$|ssh-listener$/.test(x.name));
      assert.equal(sshForwarding.length, 1, "one SSH forwarding on the apiserver load balancer");
      for (const step of steps) {
        assert.ok(!masters.some((x) => x.address === step.sshTarget!.host), `${step.name} connects to a fixed master`);
        assert.ok(step.dependencies.includes(sshForwarding[0].urn), `${step.name} does not wait for the SSH forwarding`);
      }
      for (const x of masters) assert.ok(!r.resources.some((y) => y.name.startsWith(`${x.name}-validate`) || y.name.startsWith(`${x.name}-kubeconfig`)));
    });

    test("resource names derive from the cluster name", () => {
      for (const x of r.resources) assert.ok(x.name.startsWith(cluster), x.name);
    });

    test("each resource's URN is unique and every parent and dependency is a registered resource", () => {
      const urns = new Set(r.resources.map((x) => x.urn));
      assert.equal(urns.size, r.resources.length);
      for (const x of r.resources) {
        if (x.parent) assert.ok(urns.has(x.parent), `${x.name}: unknown parent`);
        for (const d of x.dependencies) assert.ok(urns.has(d), `${x.name}: unknown dependency ${d}`);
      }
    });
  });
}
