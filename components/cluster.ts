import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ClusterConfig } from "./config/validate";
import { DEFAULT_SSH_USER } from "./config/schema";
import { ClusterPlan, hostIdentity, machineRevision, planCluster, PoolPlan } from "./plan/cluster-plan";
import { bootConfig } from "./plan/cloud-init";
import { workerJoinConfig } from "./plan/kubeadm";
import { paths, workerJoinScript } from "./plan/scripts";
import { KubeadmBootstrap } from "./bootstrap";
import { controlPlaneHost } from "./control-plane-host";
import { MasterTurns } from "./master-turns";
import { ClusterPki } from "./pki";
import { durationSeconds } from "./config/durations";
import { GcpInfrastructure } from "./gcp/infrastructure";
import { AwsInfrastructure } from "./aws/infrastructure";
import { PlatformInfrastructure } from "./platform";
import { endpointFiles, StaticMachine, staticPrepareFiles } from "./plan/static-files";
import { ENDPOINT_PATHS } from "./plan/onprem-endpoint";
import { MemberExport } from "./plan/member";
import { controlPlaneFacts } from "./plan/labels";
import { CertificatesOutput } from "./plan/certificates";
import { BootstrapTokenOutput } from "./plan/bootstrap-token";
import { GENERATION_LABEL, workerGeneration } from "./plan/worker-roll";
import { BackupDestination, BackupsOutput, configuredDestination } from "./plan/backups";
import { EncryptionOutput, EncryptionPlan, encryptionPlan } from "./plan/encryption";

export interface KubeadmClusterArgs {
  config: ClusterConfig;
  /** OpenSSH private key matching config.sshPublicKey; when both are absent a key pair is generated. */
  sshPrivateKey?: pulumi.Input<string>;
  /** An S3-compatible backup endpoint's credentials file (plan/backups.ts backupCredentials), secret. */
  backupCredentials?: pulumi.Input<string>;
  /** AWS: the AMI of every machine (config.image, or the looked-up one). */
  ami?: string;
  /** The certificate renewal round of this up (plan/certificates.ts renewalRound). @default "issued" */
  certificatesRound?: string;
  /** The bootstrap token's rotation round of this up (plan/bootstrap-token.ts tokenRound). @default 0 */
  tokenRound?: number;
  /** Secrets' encryption in this up (plan/encryption.ts encryptionPlan). @default a new cluster's */
  encryption?: EncryptionPlan;
}

/**
 * A highly-available kubeadm cluster: masters in distinct zones behind the
 * apiserver endpoint, stacked etcd, worker pools, bootstrapped over SSH.
 */
export class KubeadmCluster extends pulumi.ComponentResource {
  public readonly plan: ClusterPlan;
  public readonly endpoint: string;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly bastionAddress: pulumi.Output<string>;
  /** What a federation needs from this cluster (the `federation` stack output); GCP and AWS only. */
  public readonly federation?: pulumi.Output<MemberExport>;
  /** The release every master and worker you own runs, once their upgrades passed (see KubeadmBootstrap). */
  public readonly kubernetesVersion: pulumi.Output<string>;
  /** The earliest expiry of the masters' certificates, and the renewal round (see KubeadmBootstrap). */
  public readonly certificates: pulumi.Output<CertificatesOutput>;
  /** The bootstrap token's rotation round and expiry (see KubeadmBootstrap). */
  public readonly bootstrapToken: pulumi.Output<BootstrapTokenOutput>;
  /** Where the etcd snapshots go, how often, and the one the up took (see KubeadmBootstrap). */
  public readonly backups: pulumi.Output<BackupsOutput>;
  /** What the apiservers write Secrets with, once every Secret is (see KubeadmBootstrap). */
  public readonly encryption: pulumi.Output<EncryptionOutput>;
  /** The generated SSH private key (secret), when the stack gave none. */
  public readonly generatedSshPrivateKey?: pulumi.Output<string>;

  constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:index:Cluster", name, {}, opts);
    const plan = (this.plan = planCluster(args.config));
    const parent = { parent: this };

    const tokenRound = args.tokenRound ?? 0;
    const encryption = args.encryption ?? encryptionPlan(plan.config, undefined, true);
    const certificates = plan.config.kubernetes.certificates;
    const pki = new ClusterPki(
      `${name}-pki`,
      {
        clusterName: plan.name,
        tokenRound,
        encryptionKeys: encryption.keys,
        // The apiservers' etcd client certificate: as long-lived as kubeadm's leaf certificates, made again as early.
        externalEtcd:
          plan.etcd.topology === "external"
            ? {
                validityHours: Math.floor(durationSeconds(certificates.validity)! / 3600),
                earlyRenewalHours: Math.max(1, Math.ceil(durationSeconds(certificates.renewBefore)! / 3600)),
              }
            : undefined,
      },
      parent,
    );
    // One master at a time: each master's VM and steps wait for the previous one healthy again;
    // and one external etcd machine at a time (clouds: each VM after the member before it is a voter again).
    const turns = new MasterTurns(plan.masters.length);
    const etcdTurns = new MasterTurns(plan.etcd.members.length);
    const bootstrapArgs = {
      plan,
      shared: pki.shared,
      caCertHash: pki.caCertHash,
      turns,
      etcdTurns,
      certificatesRound: args.certificatesRound ?? "issued",
      tokenRound,
      encryption: { plan: encryption, keys: pki.encryptionKeys },
    };
    // etcd backups: where the stack says (a directory, an endpoint of yours), or the platform's bucket below.
    const configured = configuredDestination(plan.config);
    const backups = (bucket?: pulumi.Output<BackupDestination>) => {
      const destination = configured ?? bucket;
      return destination ? { destination, credentials: configured?.kind === "s3" ? args.backupCredentials : undefined } : undefined;
    };

    if (plan.config.platform === "static") {
      // Hosts you own: nothing to create; the bootstrap prepares them over SSH.
      const hosts = plan.config.hosts!;
      const [bastionUser, bastionHost] = hosts.bastion?.includes("@") ? hosts.bastion.split("@") : [undefined, hosts.bastion];
      const bootstrap = new KubeadmBootstrap(
        `${name}-bootstrap`,
        {
          ...bootstrapArgs,
          ssh: {
            user: hosts.sshUser,
            // Without a key in the stack, the SSH agent of whoever runs `pulumi up` signs.
            privateKey: args.sshPrivateKey ? pulumi.secret(args.sshPrivateKey) : undefined,
            // No socket path in the inputs: the provider reads SSH_AUTH_SOCK when it connects,
            // and a path that differs per shell would make every step look changed.
            bastionHost,
            bastionUser,
          },
          masterIds: plan.masters.map((m) => hostIdentity({ address: m.ip, machine: m.machine })),
          controlPlaneHost: controlPlaneHost(plan.controlPlaneSsh, { direct: bastionHost === undefined }),
          dependsOn: [],
          prepareFiles: (m) => staticPrepareFiles(plan, m),
          backups: backups(),
        },
        parent,
      );
      this.endpoint = plan.endpoint.hostPort;
      this.kubeconfig = bootstrap.kubeconfig;
      this.kubernetesVersion = bootstrap.kubernetesVersion;
      this.certificates = bootstrap.certificates;
      this.bootstrapToken = bootstrap.bootstrapToken;
      this.backups = bootstrap.backups;
      this.encryption = bootstrap.encryption;
      bootstrap.pruneTokens([]);
      this.bastionAddress = pulumi.output(bastionHost ?? "");
      this.registerOutputs({ endpoint: this.endpoint, kubeconfig: this.kubeconfig, controlPlane: controlPlaneFacts(plan) });
      return;
    }

    let publicKey: pulumi.Input<string>;
    let privateKey: pulumi.Input<string>;
    if (args.config.sshPublicKey && args.sshPrivateKey) {
      publicKey = args.config.sshPublicKey;
      privateKey = pulumi.secret(args.sshPrivateKey);
    } else {
      const key = new tls.PrivateKey(`${name}-ssh`, { algorithm: "ED25519" }, parent);
      publicKey = key.publicKeyOpenssh;
      privateKey = key.privateKeyOpenssh;
      this.generatedSshPrivateKey = pulumi.secret(key.privateKeyOpenssh);
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
    const machines = { plan, bastionUserData, masterUserData, masterAfter: turns.all(), etcdUserData, etcdAfter: etcdTurns.all() };

    let infra: PlatformInfrastructure;
    switch (plan.config.platform) {
      case "gcp":
        infra = new GcpInfrastructure(name, machines, parent);
        break;
      case "aws":
        if (!args.ami) throw new Error("KubeadmCluster: args.ami is required on AWS (config.image or the AMI lookup)");
        infra = new AwsInfrastructure(name, { ...machines, ami: args.ami }, parent);
        break;
      default: {
        const never: never = plan.config.platform;
        throw new Error(`unknown platform ${never}`);
      }
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
    this.backups = bootstrap.backups;
    this.encryption = bootstrap.encryption;

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
    const cloud = plan.config.platform;
    this.federation = infra.ingress().apply((ingress) => ({ cluster: plan.name, cloud, region: plan.region, zones: plan.zones, ingress }));

    this.endpoint = plan.endpoint.hostPort;
    this.kubeconfig = bootstrap.kubeconfig;
    this.kubernetesVersion = bootstrap.kubernetesVersion;
    this.certificates = bootstrap.certificates;
    this.bootstrapToken = bootstrap.bootstrapToken;
    this.bastionAddress = infra.bastionPublicIp;
    this.registerOutputs({ endpoint: this.endpoint, kubeconfig: this.kubeconfig, bastionAddress: this.bastionAddress, controlPlane: controlPlaneFacts(plan) });
  }
}
