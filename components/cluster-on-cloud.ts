// A cluster on machines the program makes (GCP, AWS): the bastion, masters and external etcd
// machines from boot configs, the platform's infrastructure (components/gcp, components/aws),
// the bootstrap over SSH through the bastion, then the worker pools and their rolls.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { AwsClusterConfig, GcpClusterConfig } from "./config/validate";
import { unknownPlatform } from "./config/cluster-config";
import { DEFAULT_SSH_USER } from "./config/schema";
import { machineRevision, PoolPlan } from "./plan/cluster-plan";
import { bootConfig } from "./plan/cloud-init";
import { workerJoinConfig } from "./plan/kubeadm";
import { paths, workerJoinScript } from "./plan/scripts";
import { endpointFiles, StaticMachine } from "./plan/static-files";
import { ENDPOINT_PATHS } from "./plan/onprem-endpoint";
import { GENERATION_LABEL, workerGeneration } from "./plan/worker-roll";
import { KubeadmBootstrap } from "./bootstrap";
import { controlPlaneHost } from "./control-plane-host";
import { GcpInfrastructure } from "./gcp/infrastructure";
import { AwsInfrastructure } from "./aws/infrastructure";
import { PlatformInfrastructure } from "./platform";
import { ClusterMade, ClusterParts } from "./cluster-parts";

export function clusterOnCloud({ name, args, plan, parent, pki, bootstrapArgs, backups }: ClusterParts, config: GcpClusterConfig | AwsClusterConfig): ClusterMade {
  let publicKey: pulumi.Input<string>;
  let privateKey: pulumi.Input<string>;
  let generatedSshPrivateKey: pulumi.Output<string> | undefined;
  if (args.config.sshPublicKey && args.sshPrivateKey) {
    publicKey = args.config.sshPublicKey;
    privateKey = pulumi.secret(args.sshPrivateKey);
  } else {
    const key = new tls.PrivateKey(`${name}-ssh`, { algorithm: "ED25519" }, parent);
    publicKey = key.publicKeyOpenssh;
    privateKey = key.privateKeyOpenssh;
    generatedSshPrivateKey = pulumi.secret(key.privateKeyOpenssh);
  }

  const common = { sshUser: DEFAULT_SSH_USER, cluster: plan.config, endpointName: plan.endpoint.name };
  const withKey = (f: (key: string) => string) => pulumi.output(publicKey).apply(f);
  const bastionUserData = withKey((sshPublicKey) => bootConfig({ ...common, sshPublicKey, kubernetesNode: false }));
  // local-proxy: haproxy on every node from the boot config, started after preparation.
  const proxy = (m: StaticMachine) => {
    const files = endpointFiles(plan, m);
    return { files, runcmd: files.some((f) => f.path === ENDPOINT_PATHS.setup) ? [[ENDPOINT_PATHS.setup]] : [] };
  };
  const masterUserData = plan.masters.map((m) =>
    // While a master joins, the endpoint name points at master-0; the bootstrap repoints it later.
    withKey((sshPublicKey) =>
      bootConfig({ ...common, sshPublicKey, kubernetesNode: true, endpointAddress: m.endpointWhileJoining, ...proxy({ name: m.name, address: m.ip, masterIndex: m.index }) }),
    ),
  );

  // An external etcd's machines: prepared like nodes by their boot config; their etcd CA, member
  // and the rest come over SSH.
  const etcdUserData = plan.etcd.members.map(() =>
    withKey((sshPublicKey) => bootConfig({ ...common, sshPublicKey, kubernetesNode: true, endpointAddress: plan.endpoint.workerAddress })),
  );
  const machines = { plan, bastionUserData, masterUserData, masterAfter: bootstrapArgs.turns.all(), etcdUserData, etcdAfter: bootstrapArgs.etcdTurns.all() };

  let infra: PlatformInfrastructure;
  switch (config.platform) {
    case "gcp":
      infra = new GcpInfrastructure(name, machines, parent);
      break;
    case "aws":
      if (!args.ami) throw new Error("KubeadmCluster: args.ami is required on AWS (config.image or the AMI lookup)");
      infra = new AwsInfrastructure(name, { ...machines, ami: args.ami }, parent);
      break;
    default:
      throw unknownPlatform(config);
  }

  const bootstrap = new KubeadmBootstrap(
    `${name}-bootstrap`,
    {
      ...bootstrapArgs,
      ssh: { user: DEFAULT_SSH_USER, privateKey, bastionHost: infra.bastionPublicIp },
      masterIds: infra.masterIds,
      controlPlaneHost: controlPlaneHost(plan.controlPlaneSsh, { loadBalancerSsh: infra.controlPlaneSsh, direct: false }),
      dependsOn: infra.sshReady,
      masterMachines: infra.masterInstances,
      etcdIds: infra.etcdIds,
      etcdMachines: infra.etcdInstances,
      machineRevisions: masterUserData.map((userData) => userData.apply((u) => machineRevision(plan.config, u))),
      backups: backups(infra.backupBucket),
    },
    parent,
  );

  // A pool's boot config; `generation` labels its nodes (none: what the generation is made of).
  const workerBoot = (pool: PoolPlan, sshPublicKey: string, hash: string, generation?: string) =>
    bootConfig({
      ...common,
      sshPublicKey,
      kubernetesNode: true,
      endpointAddress: plan.endpoint.workerAddress,
      files: [
        {
          path: paths.workerJoinTemplate,
          mode: "0600",
          content: workerJoinConfig(
            plan,
            { name: pool.pool.name, taints: pool.pool.taints, labels: { ...pool.pool.labels, ...(generation ? { [GENERATION_LABEL]: generation } : {}) } },
            hash,
          ),
        },
        { path: paths.workerJoin, mode: "0755", content: workerJoinScript(infra.instanceIdentity) },
        ...proxy({ name: pool.name, address: "" }).files,
      ],
      runcmd: [...proxy({ name: pool.name, address: "" }).runcmd, [paths.workerJoin]],
    });
  // What makes a pool's workers, known when the program runs (the SSH key and the CA, which
  // a cluster keeps for its life, stand in as placeholders): a change makes a new generation.
  const generations = new Map(
    plan.pools.map((pool) => [
      pool.name,
      workerGeneration([workerBoot(pool, "ssh-key", "sha256:ca"), pool.pool.machineType, String(pool.pool.diskSizeGb), plan.config.image ?? "", args.ami ?? ""]),
    ]),
  );
  const generation = (pool: PoolPlan) => generations.get(pool.name)!;
  const workerUserData = (pool: PoolPlan) => pulumi.all([publicKey, pki.caCertHash]).apply(([sshPublicKey, hash]) => workerBoot(pool, sshPublicKey, hash, generation(pool)));
  // The worker groups get the token (their secret store) once it is in the cluster.
  const pools = infra.addPools({ userData: workerUserData, bootstrapToken: pki.bootstrapToken, generation, dependsOn: [bootstrap.tokenReady] });
  // A new generation: its nodes Ready, then the old generation drained before its groups go.
  bootstrap.rollWorkers(infra.workerGroups().map((g) => ({ ...g, pool: g.pool.pool.name, generation: generation(g.pool) })));
  bootstrap.pruneTokens(pools);
  const cloud = config.platform;
  const federation = infra.ingress().apply((ingress) => ({ cluster: plan.name, cloud, region: plan.region, zones: plan.zones, ingress }));
  return { bootstrap, bastionAddress: infra.bastionPublicIp, federation, generatedSshPrivateKey, outputs: { bastionAddress: infra.bastionPublicIp } };
}
