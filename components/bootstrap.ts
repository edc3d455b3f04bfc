import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { createHash } from "crypto";
import { resolve } from "path";
import { ClusterPlan, hostIdentity, MasterPlan } from "./plan/cluster-plan";
import { encodeBundle, MachineFile } from "./plan/bundle";
import { clusterConfiguration, controlPlaneJoinConfig, initConfig } from "./plan/kubeadm";
import { etcdMachinePkiFiles, SharedPki, sharedPkiFiles } from "./plan/pki";
import { etcdLeaveCommand, etcdMachineFiles, etcdMemberStepCommand } from "./plan/etcd-member";
import * as scripts from "./plan/scripts";
import { StaticMachine } from "./plan/static-files";
import { registrationLabels, workerJoinConfig, NODE_IP_PLACEHOLDER, NODE_NAME_PLACEHOLDER, TOKEN_FILE } from "./plan/kubeadm";
import { nodeLabelsCommand, removeMasterCommand, removeWorkerCommand, resetCommand } from "./plan/host-lifecycle";
import { healthyCommand, initCommand, joinCommand, memberScript } from "./plan/control-plane-member";
import { ControlPlaneHost } from "./control-plane-host";
import { MasterTurns } from "./master-turns";
import { upgradeCommand, upgradeScript, UPGRADE_SCRIPT } from "./plan/upgrade";
import { bootstrapTokenCommand, bootstrapTokenFiles, BootstrapTokenOutput, tokenExpiry } from "./plan/bootstrap-token";
import { drainGenerationCommand, generationGroupName, generationReadyCommand } from "./plan/worker-roll";
import {
  certificatesCommand,
  controlPlaneConfigCommand,
  certificatesFiles,
  certificatesUnits,
  CertificatesOutput,
  earliestExpiry,
  etcdMachineCertificatesFiles,
} from "./plan/certificates";
import {
  encryptionCommand,
  encryptionFiles,
  encryptionOutput,
  EncryptionOutput,
  EncryptionPlan,
  encryptionScript,
  ENCRYPTION_SCRIPT,
  phaseTrigger,
  rewriteCommand,
} from "./plan/encryption";
import { auditFiles } from "./plan/audit";
import {
  BACKUP_CREDENTIALS,
  backupCommand,
  BackupDestination,
  backupFiles,
  BackupsOutput,
  destinationUrl,
  etcdMachineBackupFiles,
  RESTORE_UPLOAD,
  restoreCommand,
  restoreToken,
  restoreTurns,
  snapshotTaken,
} from "./plan/backups";

/** How the bootstrap reaches the machines: SSH, through a bastion where there is one. */
export interface SshAccess {
  user: string;
  /** Private key (secret); without one, the SSH agent at agentSocketPath signs. */
  privateKey?: pulumi.Input<string>;
  agentSocketPath?: string;
  /** Address of the bastion, and its user when it differs. */
  bastionHost?: pulumi.Input<string>;
  bastionUser?: string;
}

export interface KubeadmBootstrapArgs {
  plan: ClusterPlan;
  ssh: SshAccess;
  shared: pulumi.Output<SharedPki>;
  caCertHash: pulumi.Input<string>;
  /** Cloud identity of each master VM, in plan order: a replaced VM re-runs its steps. */
  masterIds: pulumi.Input<string>[];
  /**
   * Where the steps that need any one healthy master connect (plan.controlPlaneSsh, resolved):
   * the endpoint's SSH address, or the master that answered first.
   */
  controlPlaneHost: ControlPlaneHost;
  /** What must exist before the first SSH connection to any machine (bastion, firewall, NAT). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
  /** Clouds: each master's VM, in plan order; its steps wait for it alone. */
  masterMachines?: pulumi.Resource[];
  /**
   * Clouds: what, when it changes, restarts or replaces each master's VM (its machine type,
   * image, boot config), in plan order: the master's `healthy` step runs again after it.
   * Without it (hosts you own): each time the master's preparation runs again (it restarts
   * containerd, the kubelet and the endpoint's services).
   */
  machineRevisions?: pulumi.Input<string>[];
  /** One master at a time: where the bootstrap hands over each master's `healthy` step. */
  turns: MasterTurns;
  /** One external etcd machine at a time: its member step proves it a voter again (clouds: the next VM waits for it). */
  etcdTurns: MasterTurns;
  /** Clouds: each external etcd machine's identity and VM, in plan order (hosts you own: none). */
  etcdIds?: pulumi.Input<string>[];
  etcdMachines?: pulumi.Resource[];
  /**
   * The certificate renewal round of this up (plan/certificates.ts renewalRound): when it
   * changes, every master's `certificates` step runs again, in turn, and the admin
   * kubeconfig is exported again.
   */
  certificatesRound: string;
  /** The bootstrap token's rotation round (plan/bootstrap-token.ts tokenRound), for the `bootstrapToken` output. */
  tokenRound: number;
  /**
   * Where the etcd snapshots go (plan/backups.ts), and an S3-compatible endpoint's
   * credentials file (secret); none when backups are off.
   */
  backups?: { destination: pulumi.Input<BackupDestination>; credentials?: pulumi.Input<string> };
  /** Secrets' encryption at rest: this up's plan (plan/encryption.ts) and its keys' bytes by round (secret). */
  encryption: { plan: EncryptionPlan; keys: pulumi.Output<Record<number, string>> };
  /**
   * Machines without cloud-init (hosts you own): the files their first step writes
   * before it prepares them. Without it, the first step waits for cloud-init.
   */
  prepareFiles?: (machine: StaticMachine) => MachineFile[];
}

/** A machine a restore runs on, and what its first phase waits for (its files in place). */
interface RestoreMachine {
  name: string;
  machine: MachineSteps;
  ready: pulumi.Resource[];
}

/** The files a master gets over SSH that are not secret: kubeadm configs and helper scripts. */
export function masterPlainFiles(plan: ClusterPlan, master: MasterPlan, caCertHash: string, backups?: BackupDestination): MachineFile[] {
  // The first master inits a new cluster; replaced, it joins the existing one like the others.
  const init: MachineFile[] = master.index === 0 ? [{ path: scripts.paths.initConfig, mode: "0644", content: initConfig(plan, master) }] : [];
  const external = plan.etcd.topology === "external";
  return [
    ...init,
    { path: scripts.paths.joinConfig, mode: "0644", content: controlPlaneJoinConfig(plan, master, caCertHash) },
    { path: scripts.paths.renderConfig, mode: "0755", content: scripts.renderConfigScript() },
    { path: scripts.paths.member, mode: "0755", content: memberScript(plan) },
    {
      path: scripts.paths.waitMember,
      mode: "0755",
      content: external ? scripts.waitMasterExternalEtcdScript(plan) : scripts.waitMemberScript(plan.masters.map((m) => m.name)),
    },
    { path: scripts.paths.refreshEndpointPods, mode: "0755", content: scripts.refreshEndpointPodsScript(plan.endpoint.name) },
    { path: scripts.paths.validate, mode: "0755", content: scripts.validateScript(plan) },
    { path: scripts.paths.etcdMember, mode: "0755", content: scripts.etcdMemberScript(external) },
    // No etcd manifest names the node on a master of an external etcd: its scripts read this.
    ...(external ? [{ path: scripts.NODE_NAME_FILE, mode: "0644", content: master.name + "\n" }] : []),
    { path: scripts.paths.spreadDns, mode: "0755", content: scripts.spreadDnsScript() },
    { path: UPGRADE_SCRIPT, mode: "0755", content: upgradeScript(plan) },
    { path: ENCRYPTION_SCRIPT, mode: "0755", content: encryptionScript(master) },
    ...auditFiles(plan.config),
    ...certificatesFiles(plan, master),
    ...bootstrapTokenFiles(plan),
    ...(backups ? backupFiles(plan, master, backups) : []),
  ];
}

/**
 * Runs the kubeadm bootstrap over SSH: files and secrets to every master,
 * `kubeadm init` on master-0, then each other master joins strictly after the
 * previous one is Ready and a healthy voting etcd member; finally a validation
 * step that fails `pulumi up` with the reason, and the admin kubeconfig. The steps
 * that need any one healthy master (validation, kubeconfig, etcd membership, removing
 * a worker you own, taking out a master that leaves the stack) run on
 * `<cluster>-control-plane`, which connects to args.controlPlaneHost: whichever master
 * is healthy when they run, never a fixed one.
 */
export class KubeadmBootstrap extends pulumi.ComponentResource {
  /** The step that proves the control plane healthy; node pools wait for it. */
  public readonly validated: command.remote.Command;
  /** Admin kubeconfig, secret. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The init/join step of each master, in order. */
  public readonly memberSteps: command.remote.Command[];
  /**
   * The stack's Kubernetes release, known once every master and every worker you own runs
   * it (their upgrade steps passed): the `kubernetesVersion` output.
   */
  public readonly kubernetesVersion: pulumi.Output<string>;
  /** The earliest expiry of the masters' (and external etcd machines') certificates and the renewal round: the `certificates` output. */
  public readonly certificates: pulumi.Output<CertificatesOutput>;
  /**
   * The stack's bootstrap token exists in the cluster: what hands it out to new workers (their
   * secret store, the joins of workers you own) waits for this step.
   */
  public readonly tokenReady: command.remote.Command;
  /** Where the etcd snapshots go, how often, and the one this up took: the `backups` output. */
  public readonly backups: pulumi.Output<BackupsOutput>;
  /** The token's rotation round and expiry: the `bootstrapToken` output. */
  public readonly bootstrapToken: pulumi.Output<BootstrapTokenOutput>;
  /** What the apiservers write Secrets with, known once every Secret is: the `encryption` output. */
  public readonly encryption: pulumi.Output<EncryptionOutput>;
  private readonly controlPlane: MachineSteps;
  private readonly plan: ClusterPlan;
  private readonly tokenTrigger: pulumi.Output<string>;
  private readonly workerJoins: command.remote.Command[] = [];

  constructor(name: string, args: KubeadmBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:bootstrap:KubeadmBootstrap", name, {}, opts);
    const { plan, ssh } = args;
    this.plan = plan;
    const packages = plan.config.kubernetes.packages;
    const firstStep = (machine: MachineSteps, m: StaticMachine, endpointAddress: string, memberEndpointAddress?: string) => {
      if (!args.prepareFiles) return machine.step("wait-boot", { create: scripts.waitBootCommand() });
      const files = args.prepareFiles(m);
      // An air-gapped bundle folder goes to the machine first (the prepare step installs from it).
      const copied =
        packages.source === "bundle" && packages.path !== undefined ? [machine.copy("bundle", new pulumi.asset.FileArchive(resolve(packages.path)), scripts.BUNDLE_STAGING)] : [];
      return machine.step(
        "prepare",
        {
          create: scripts.prepareCommand(
            endpointAddress,
            files.some((f) => f.path === "/usr/local/sbin/kubeadm-ha-endpoint"),
            memberEndpointAddress,
          ),
          stdin: encodeBundle(files),
        },
        copied,
      );
    };

    // An external etcd: each of its machines prepared, given its files and the etcd CA, then
    // made a member, one at a time (each after the one before is a healthy voter). The
    // masters prepare meanwhile; the first init or join waits for the last member.
    // An etcd machine taken out of the stack (or destroyed) first leaves the cluster (its
    // member removed through another member: the rest keep their quorum; the last member has
    // none to leave), then, on hosts you own, is given back (kubeadm reset, its data and files
    // removed). In a destroy, after every master left (master-0's reset, the last of theirs,
    // depends on these), so the cluster keeps its datastore to the end; the machines from the
    // last to the first, one at a time.
    // Each has the backup script and destination too (a restore's member phases run there), and
    // its certificates' renewal (script and timer; its `certificates` step is below, with the masters').
    const etcdMembers: command.remote.Command[] = [];
    let etcdLeft: command.remote.Command[] = [];
    // Every node's `fetch-release` step: a new release's packages and images onto it, before any master moves.
    const fetches: command.remote.Command[] = [];
    const etcdGiven: RestoreMachine[] = [];
    for (const member of plan.etcd.members) {
      const trigger = args.etcdIds?.[member.index] ?? hostIdentity({ address: member.ip, machine: member.machine });
      const before = [...args.dependsOn, ...(args.etcdMachines ? [args.etcdMachines[member.index]] : [])];
      const machine = new MachineSteps(member.name, { ssh, host: member.ip, trigger, before }, { parent: this });
      const reset = args.prepareFiles ? [machine.step("reset", { delete: resetCommand(member.name), replaceOn: [] }, etcdLeft)] : etcdLeft;
      etcdLeft = [machine.step("leave", { delete: etcdLeaveCommand(member), replaceOn: [] }, reset)];
      const boot = firstStep(machine, { name: member.name, address: member.ip, etcd: true }, plan.endpoint.workerAddress ?? plan.endpoint.addresses[0]);
      const stdin = pulumi
        .output(args.backups?.destination)
        .apply((d) =>
          encodeBundle([
            ...etcdMachineFiles(plan, member),
            ...etcdMachineCertificatesFiles(plan, member),
            { path: UPGRADE_SCRIPT, mode: "0755", content: upgradeScript(plan) },
            ...(d ? etcdMachineBackupFiles(plan, member, d) : []),
          ]),
        );
      const files = machine.step("files", { create: scripts.unpackCommand(), stdin }, [boot]);
      const secrets = machine.step(
        "secrets",
        {
          create: scripts.unpackCommand(),
          stdin: pulumi.secret(
            pulumi
              .all([args.shared, args.backups?.credentials])
              .apply(([s, credentials]) => encodeBundle([...etcdMachinePkiFiles(s), ...(credentials ? [{ path: BACKUP_CREDENTIALS, mode: "0600", content: credentials }] : [])])),
          ),
        },
        [boot],
      );
      etcdMembers.push(machine.step("member", { create: etcdMemberStepCommand(member) }, [files, secrets, ...etcdMembers.slice(-1)]));
      args.etcdTurns.healthyAt(member.index, etcdMembers[etcdMembers.length - 1]);
      fetches.push(machine.step("fetch-release", { create: upgradeCommand(plan, "fetch", member.name) }, [files]));
      etcdGiven.push({ name: member.name, machine, ready: [files, secrets] });
    }
    const etcdReady = etcdMembers.slice(-1);

    // Steps for any one healthy master, reached through args.controlPlaneHost. They were
    // master-0's and master-1's (aliases keep their state): with that zone down, nothing
    // could be replaced.
    const controlPlane = (this.controlPlane = new MachineSteps(
      `${plan.name}-control-plane`,
      { ssh, host: args.controlPlaneHost(), trigger: pulumi.all(args.masterIds).apply((ids) => ids.join(",")), before: [...args.dependsOn, ...(args.masterMachines ?? [])] },
      { parent: this },
    ));

    // A master leaving the stack is taken out of the cluster: drained, its Node and etcd
    // member removed from another master (remove-<master>), then its host reset (hosts you
    // own; on clouds, deleting the VM is the reset). Both steps are made before the master's
    // join, so a master whose join failed or was interrupted (a grow, reverted) leaves no
    // member behind either. Chained for a destroy: the workers go first, then the masters
    // from the last to master-0, each removed while the rest keep quorum; the cluster's last
    // member is left to its host's reset.
    const owned = args.prepareFiles !== undefined;
    let lastLeave: command.remote.Command | undefined;
    let previous: command.remote.Command | undefined;
    let lastHealthy: command.remote.Command | undefined;
    const machines: MachineSteps[] = [];
    const given = plan.masters.map((master) => {
      // One master at a time: nothing happens on a master (or to its VM) before the previous
      // one is healthy again.
      const before = [...args.dependsOn, ...(args.masterMachines ? [args.masterMachines[master.index]] : []), ...args.turns.after(master.index)];
      const machine = new MachineSteps(master.name, { ssh, host: master.ip, trigger: args.masterIds[master.index], before }, { parent: this });
      machines.push(machine);
      const chain = lastLeave ? [lastLeave] : etcdLeft;
      const reset = owned ? [machine.step("reset", { delete: resetCommand(master.name), replaceOn: [] }, chain)] : chain;
      lastLeave = controlPlane.step(`remove-${master.name}`, { delete: removeMasterCommand(master), replaceOn: [] }, reset, { host: args.controlPlaneHost(master.ip) });
      const boot = firstStep(machine, { name: master.name, address: master.ip, masterIndex: master.index }, master.endpointWhileJoining, master.endpointAfterJoin);
      const files = machine.step(
        "files",
        {
          create: scripts.unpackCommand(),
          stdin: pulumi.all([args.caCertHash, args.backups?.destination]).apply(([hash, backups]) => encodeBundle(masterPlainFiles(plan, master, hash, backups))),
        },
        [boot],
      );
      fetches.push(machine.step("fetch-release", { create: upgradeCommand(plan, "fetch", master.name) }, [files]));
      const secrets = machine.step(
        "secrets",
        {
          create: scripts.unpackCommand(),
          stdin: pulumi.secret(
            pulumi
              .all([args.shared, args.backups?.credentials, args.encryption.keys])
              .apply(([s, credentials, keys]) =>
                encodeBundle([
                  ...sharedPkiFiles(s, plan.etcd.topology),
                  ...(credentials ? [{ path: BACKUP_CREDENTIALS, mode: "0600", content: credentials }] : []),
                  ...encryptionFiles(args.encryption.plan, keys),
                ]),
              ),
          ),
        },
        [boot],
      );
      // The cluster's encryption config in place before the apiserver starts on it (init, join),
      // and, in a rotation, every apiserver reading the new key before any writes with it.
      const encryptionRead = machine.step("encryption-read", { create: encryptionCommand(master, "read", args.encryption.plan) }, [files, secrets]);
      // What the member's init or join waits for: the secrets, and the encryption config they staged, in place.
      return { machine, boot, files, staged: encryptionRead };
    });
    // A restore (restore.snapshot or restore.file): every etcd member from one snapshot, in
    // phases across the masters; the validation waits for it. Nothing of a master's own
    // chain (join, healthy: the next master's turn) may wait for it: the restore waits for
    // every master's files, so that would be a cycle, and a cycle of dependencies ends the
    // program with resources unregistered, which Pulumi deletes.
    const restored = plan.config.restore
      ? this.restoreEtcd({ master: plan.masters.map((m, i) => ({ name: m.name, machine: given[i].machine, ready: [given[i].files, given[i].staged] })), etcd: etcdGiven })
      : [];
    this.memberSteps = plan.masters.map((master) => {
      const { machine, boot, files, staged } = given[master.index];
      const member =
        master.index === 0
          ? machine.step("init", { create: initCommand(plan, master) }, [files, staged, ...etcdReady])
          : machine.step("join", { create: joinCommand(plan, master) }, [files, staged, previous!]);
      previous = member;
      // Healthy again after anything that restarted or replaced this master: its kubelet, its
      // etcd member, its apiserver; the next master's turn starts after this step.
      // (A step's ID is new whenever it runs again, for whatever reason: a changed input, --replace.)
      const revision = args.machineRevisions?.[master.index] ?? boot.id;
      lastHealthy = machine.step("healthy", { create: healthyCommand(master), triggers: [revision] }, [member]);
      args.turns.healthyAt(master.index, lastHealthy);
      return member;
    });

    const wasOn = (machine: number, step: string): pulumi.Alias => ({ name: `${plan.masters[machine].name}-${step}`, parent: machines[machine] });

    // Each master a member, checked once it has joined. Nothing is removed when a master's
    // machine is replaced: the new machine clears its predecessor's member as it joins
    // (the member script), through whichever master answers then. (These steps removed it
    // before, from a fixed peer that had to be up; moving them changes no trigger, so
    // nothing is replaced, and the update drops the old removal.)
    // (With an external etcd no master holds a member: nothing to check.)
    const memberships = plan.masters
      .filter(() => plan.masters.length > 1 && plan.etcd.topology === "stacked")
      .map((master) => {
        const step = `etcd-member-${master.name}`;
        return controlPlane.step(
          step,
          { create: scripts.etcdMemberCommand(master), replaceOn: [args.masterIds[master.index]] },
          this.memberSteps,
          // Never on the master it is about: that one may be the master lost.
          { aliases: [wasOn(master.index === 0 ? 1 : 0, step)], host: args.controlPlaneHost(master.ip) },
        );
      });
    // Fewer masters, or a renamed host: the members and Nodes of masters the stack no longer
    // has go, once every master it has is a member.
    const pruned = controlPlane.step("prune-members", { create: scripts.pruneMembersCommand(plan), triggers: [...args.masterIds] }, [lastHealthy!, ...memberships]);

    // Workers you own: prepared, given their files and the new release's packages beside the
    // masters (their joins wait for the control plane's validation below).
    const workerSteps = new Map(
      plan.staticWorkers.map((w) => {
        const machine = new MachineSteps(w.name, { ssh, host: w.address, trigger: hostIdentity(w), before: args.dependsOn }, { parent: this });
        const prepared = firstStep(machine, { name: w.name, address: w.address }, plan.endpoint.workerAddress ?? plan.endpoint.addresses[0]);
        const join = pulumi.output(args.caCertHash).apply((hash) =>
          workerJoinConfig(plan, { name: "static", labels: registrationLabels(w.zone), taints: [] }, hash)
            .replace(NODE_NAME_PLACEHOLDER, w.name)
            .replace(NODE_IP_PLACEHOLDER, w.address),
        );
        const files = machine.step(
          "files",
          {
            create: scripts.unpackCommand(),
            stdin: join.apply((content) =>
              encodeBundle([
                { path: scripts.paths.joinConfig, mode: "0644", content },
                { path: scripts.paths.renderConfig, mode: "0755", content: scripts.renderConfigScript() },
                { path: UPGRADE_SCRIPT, mode: "0755", content: upgradeScript(plan) },
              ]),
            ),
          },
          [prepared],
        );
        fetches.push(machine.step("fetch-release", { create: upgradeCommand(plan, "fetch", w.name) }, [files]));
        return [w.name, { machine, prepared, files }] as const;
      }),
    );

    // A new release: an external etcd's machines upgraded in turn, then each master
    // (plan/upgrade.ts), after every master is a member and every node has fetched the
    // release; a step whose machine runs the release already does nothing.
    const upgradedMembers = etcdGiven.reduce<command.remote.Command>(
      (before, m, i) => m.machine.step("upgrade", { create: upgradeCommand(plan, "etcd", m.name) }, i === 0 ? [before, ...fetches] : [before]),
      pruned,
    );
    const upgradedMasters = plan.masters.reduce<command.remote.Command>(
      (before, master, i) => machines[i].step("upgrade", { create: upgradeCommand(plan, "master", master.name) }, i === 0 ? [before, ...fetches] : [before]),
      upgradedMembers,
    );

    // The stack's ClusterConfiguration (the apiservers' flags and mounts, ...) onto each master
    // in turn: a component whose manifest it changes is restarted, one master at a time.
    const configured = plan.masters.reduce<command.remote.Command>(
      (before, master, i) =>
        machines[i].step("control-plane-config", { create: controlPlaneConfigCommand(master), triggers: [digest(JSON.stringify(clusterConfiguration(plan)))] }, [before]),
      upgradedMasters,
    );
    // Encryption: every master writes with the cluster's key (each has read it since its
    // encryption-read step), all at once (nothing restarts); then every Secret is written
    // again with it, from any master: once per key, and again when a master's machine is new
    // (until its encryption step, it wrote with the key before).
    const encryptionUse = plan.masters.map((master, i) => machines[i].step("encryption", { create: encryptionCommand(master, "use", args.encryption.plan) }, [configured]));
    const rewritten = controlPlane.step("encryption-rewrite", { create: rewriteCommand(), triggers: [phaseTrigger(args.encryption.plan, "use")] }, encryptionUse);
    this.encryption = rewritten.id.apply(() => encryptionOutput(plan.config, args.encryption.plan));

    // Certificates: each machine's timer on, and a renewal when due, one machine after the
    // other: an external etcd's machines, then the masters (an upgrade renews theirs too); run
    // again in a new renewal round.
    const units = digest(JSON.stringify(certificatesUnits(plan)));
    const certificateSteps: command.remote.Command[] = [];
    const renewing = [...etcdGiven, ...plan.masters.map((m) => ({ name: m.name, machine: machines[m.index] }))];
    for (const m of renewing) {
      const before = certificateSteps[certificateSteps.length - 1] ?? rewritten;
      certificateSteps.push(m.machine.step("certificates", { create: certificatesCommand(m), triggers: [args.certificatesRound, units] }, [before]));
    }
    this.certificates = pulumi.all(certificateSteps.map((s) => s.stdout)).apply((outs): CertificatesOutput => {
      const expires = earliestExpiry(outs);
      return { ...(expires ? { expires } : {}), round: args.certificatesRound };
    });

    this.validated = controlPlane.step(
      "validate",
      { create: scripts.validateCommand(), triggers: [...args.masterIds] },
      [certificateSteps[certificateSteps.length - 1], ...restored],
      { aliases: [wasOn(0, "validate")] },
    );
    // Its update (a new connection) prints the kubeconfig again, so the output stays one; a new
    // renewal round exports the renewed one.
    const kubeconfig = controlPlane.step("kubeconfig", { create: scripts.kubeconfigCommand(), triggers: [args.certificatesRound] }, [this.validated], {
      logging: "stderr",
      secretStdout: true,
      updateRunsCreate: true,
      aliases: [wasOn(0, "kubeconfig")],
    });
    this.kubeconfig = pulumi.secret(kubeconfig.stdout);

    // etcd backups: each master's timer on (or off), and a snapshot when one is due, one master
    // after the other once the cluster is validated; run again when what they are given changes.
    const backupSteps: command.remote.Command[] = [];
    for (const master of plan.masters) {
      const create = backupCommand(master, args.backups !== undefined);
      const given = pulumi.output(args.backups?.destination).apply((d) => digest(JSON.stringify(d ? backupFiles(plan, master, d) : [])));
      backupSteps.push(machines[master.index].step("backups", { create, triggers: [given] }, [backupSteps[backupSteps.length - 1] ?? this.validated]));
    }
    const b = plan.config.backups;
    const destination = pulumi.output(args.backups?.destination) as pulumi.Output<BackupDestination | undefined>;
    this.backups = pulumi.all([destination, pulumi.all(backupSteps.map((s) => s.stdout))]).apply(([d, outs]): BackupsOutput => {
      if (!d) return { enabled: false };
      const taken = snapshotTaken(outs);
      return { enabled: true, every: b.every, keepDays: b.keepDays, destination: destinationUrl(d, plan.name), ...(taken ? { taken } : {}) };
    });

    // The bootstrap token: in the cluster (a new cluster's init made it; a rotation makes it
    // here) before any worker is handed it; the older ones go at the end (pruneTokens).
    // The step reads the token every master's secrets step wrote; a new token runs it again.
    this.tokenTrigger = pulumi.secret(args.shared.apply((s) => digest(s.bootstrapToken)));
    this.tokenReady = controlPlane.step("bootstrap-token", { create: bootstrapTokenCommand("ensure"), triggers: [this.tokenTrigger] }, [this.validated]);
    this.bootstrapToken = this.tokenReady.stdout.apply((out): BootstrapTokenOutput => {
      const expires = tokenExpiry(out);
      return { round: args.tokenRound, ...(expires ? { expires } : {}) };
    });

    // Hosts you own keep their stack's labels in step with the stack.
    if (owned) {
      plan.masters.forEach((master, i) => machines[i].step("labels", { create: nodeLabelsCommand(master.name, master.labels) }, [this.validated]));
    }

    // Workers you own join over SSH once the control plane is validated; a new release
    // reaches them after every master, one worker at a time: drained from a master,
    // upgraded on the worker, uncordoned once Ready on it.
    let upgradedWorkers: command.remote.Command = this.validated;
    for (const w of plan.staticWorkers) {
      const { machine, prepared, files } = workerSteps.get(w.name)!;
      const token = machine.step(
        "secrets",
        { create: scripts.unpackCommand(), stdin: pulumi.secret(args.shared.apply((s) => encodeBundle([{ path: TOKEN_FILE, mode: "0600", content: s.bootstrapToken + "\n" }]))) },
        [prepared],
      );
      const joined = machine.step("join", { create: scripts.staticWorkerJoinCommand(w) }, [files, token, this.tokenReady]);
      this.workerJoins.push(joined);
      machine.step("labels", { create: nodeLabelsCommand(w.name, w.labels) }, [joined]);
      // Run again for a new release or a new machine, not when a master is replaced: a worker
      // that is down then must not hold up the masters.
      const onWorker = (action: "drain" | "uncordon") => {
        const create = upgradeCommand(plan, action, w.name);
        return { create, replaceOn: [hostIdentity(w), create] };
      };
      const drained = controlPlane.step(`drain-${w.name}`, onWorker("drain"), [joined, upgradedWorkers]);
      const upgraded = machine.step("upgrade", { create: upgradeCommand(plan, "node", w.name) }, [drained]);
      upgradedWorkers = controlPlane.step(`uncordon-${w.name}`, onWorker("uncordon"), [upgraded]);
      // Reset before any master leaves (a destroy), each drained and its Node deleted first.
      const reset = machine.step("reset", { delete: resetCommand(w.name), replaceOn: [] }, [lastLeave!]);
      controlPlane.step(`remove-${w.name}`, { delete: removeWorkerCommand(w.name), replaceOn: [] }, [joined, reset], { aliases: [wasOn(0, `remove-${w.name}`)] });
    }
    this.kubernetesVersion = upgradedWorkers.id.apply(() => plan.config.kubernetes.version);
    this.registerOutputs({
      kubeconfig: this.kubeconfig,
      kubernetesVersion: this.kubernetesVersion,
      certificates: this.certificates,
      bootstrapToken: this.bootstrapToken,
      backups: this.backups,
      encryption: this.encryption,
    });
  }

  /**
   * Every etcd member restored from one snapshot (plan/backups.ts), in turns (restoreTurns),
   * each on every machine of its kind before the next: apiservers and etcd stopped; each member
   * restored from the same file with the same initial cluster and cluster token (its data moved
   * aside); etcd started everywhere (a quorum needs the others); the apiservers started and
   * ready. Run once per restore.round and snapshot: a new machine does not run them again.
   */
  private restoreEtcd(machines: Record<"master" | "etcd", RestoreMachine[]>): pulumi.Resource[] {
    const plan = this.plan;
    const restore = plan.config.restore!;
    const token = restoreToken(plan.config);
    // restore.file goes to every machine whose member is restored from it.
    const members = plan.etcd.topology === "external" ? machines.etcd : machines.master;
    const copies = new Map(
      restore.file !== undefined
        ? members.map((m) => [m.name, m.machine.copy("restore-file", new pulumi.asset.FileAsset(resolve(restore.file!)), RESTORE_UPLOAD, m.ready, [token])])
        : [],
    );
    // A machine's first turn waits for its own files; each turn after every step of the turn before.
    let previous: pulumi.Resource[] = [];
    const first = new Set<string>();
    for (const turn of restoreTurns(plan)) {
      previous = machines[turn.on].map((m) => {
        const own = first.has(m.name) ? [] : [...m.ready, ...(copies.has(m.name) ? [copies.get(m.name)!] : [])];
        first.add(m.name);
        return m.machine.step(`restore-${turn.phase}`, { create: restoreCommand(m, turn.phase, plan.config), replaceOn: [token] }, [...own, ...previous]);
      });
    }
    return previous;
  }

  /**
   * GCP and AWS worker groups, blue-green per generation (plan/worker-roll.ts): per pool, a
   * step that waits until its generation's nodes are Ready (as many as the older
   * generations'), and per group a hook, named after the group, that only acts when it is
   * deleted: when a new generation's groups take over, the old group and its hook are no
   * longer in the program, and Pulumi deletes them at the end of an up that went through,
   * the hook first (it depends on the group): its delete cordons and drains that
   * generation's nodes, one at a time. `replaceOn` the generation: nothing else replaces it.
   */
  rollWorkers(groups: Array<{ pool: string; zoneGroup: string; generation: string; group: pulumi.Resource }>): void {
    const pools = [...new Set(groups.map((g) => g.pool))];
    for (const pool of pools) {
      const ofPool = groups.filter((g) => g.pool === pool);
      const generation = ofPool[0].generation;
      const create = generationReadyCommand(pool, generation);
      const ready = this.controlPlane.step(
        `ready-${pool}`,
        { create, replaceOn: [generation, digest(create)] },
        ofPool.map((g) => g.group),
      );
      for (const g of ofPool) {
        this.controlPlane.step(`drain-${generationGroupName(g.zoneGroup, g.generation)}`, { delete: drainGenerationCommand(pool, g.generation), replaceOn: [g.generation] }, [
          g.group,
          ready,
        ]);
      }
    }
  }

  /**
   * After a rotation: this program's older tokens are deleted from the cluster, once every
   * place new workers read the token from (`after`: the worker groups' secret store) holds
   * the new one and every worker you own has joined. Running workers never use it again.
   */
  pruneTokens(after: pulumi.Resource[]): command.remote.Command {
    return this.controlPlane.step("bootstrap-token-prune", { create: bootstrapTokenCommand("prune"), triggers: [this.tokenTrigger] }, [
      this.tokenReady,
      ...this.workerJoins,
      ...after,
    ]);
  }
}

/** sha256 of a step's command or standard input, hex: in its triggers, so a change runs it again. */
function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

interface MachineStepsArgs {
  ssh: SshAccess;
  host: pulumi.Input<string>;
  /** Re-run every step when this changes (the VM was replaced). */
  trigger: pulumi.Input<string>;
  /** What every step waits for (VMs, firewall, NAT). A component's dependsOn does not reach its children. */
  before: pulumi.Input<pulumi.Resource>[];
}

/**
 * The SSH steps of one machine. Its name is the machine's name, so the render
 * files every step's script under that machine.
 */
export class MachineSteps extends pulumi.ComponentResource {
  private readonly args: MachineStepsArgs;
  constructor(
    private readonly machine: string,
    args: MachineStepsArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("kubeadm-ha:bootstrap:MachineSteps", machine, {}, opts);
    this.args = args;
    this.registerOutputs({});
  }

  step(
    step: string,
    cmd: {
      /** Nothing to run on create for a step that only acts when it is deleted. */
      create?: string;
      delete?: string;
      stdin?: pulumi.Input<string>;
      /** Extra values whose change re-runs the step (besides this machine's VM). */
      triggers?: pulumi.Input<unknown>[];
      /** Re-run only when these change, instead of when this machine's VM, the command or its input change. */
      replaceOn?: pulumi.Input<unknown>[];
    },
    after: pulumi.Resource[] = [],
    extra: {
      logging?: "stdout" | "stderr" | "stdoutAndStderr" | "none";
      secretStdout?: boolean;
      /** An update runs the create command again (its stdout is an output), not the no-op. */
      updateRunsCreate?: boolean;
      /** Where the step was before (its old name and parent). */
      aliases?: pulumi.Input<pulumi.Alias>[];
      /** Connect to this host instead of the machine's. */
      host?: pulumi.Input<string>;
    } = {},
  ): command.remote.Command {
    const { trigger } = this.args;
    // What the step does on the machine is in its triggers: a changed command or input runs it
    // again (a replacement). Anything else that changes (the connection: a bastion's new
    // address, an agent socket) is an update, which runs the no-op update command.
    const what = [...(cmd.create !== undefined ? [digest(cmd.create)] : []), ...(cmd.stdin !== undefined ? [pulumi.output(cmd.stdin).apply(digest)] : [])];
    return new command.remote.Command(
      `${this.machine}-${step}`,
      {
        connection: this.connection(extra.host),
        create: cmd.create,
        update: cmd.create !== undefined && !extra.updateRunsCreate ? scripts.connectionChangedCommand() : undefined,
        delete: cmd.delete,
        stdin: cmd.stdin,
        triggers: cmd.replaceOn ?? [trigger, ...(cmd.triggers ?? []), ...what],
        logging: extra.logging ?? "stdoutAndStderr",
      },
      {
        parent: this,
        dependsOn: [...this.args.before, ...after],
        additionalSecretOutputs: extra.secretStdout ? ["stdout"] : undefined,
        aliases: extra.aliases,
      },
    );
  }

  /** Copies a file or folder to the machine over SSH (SFTP), into `remotePath` (a folder lands under its own name). */
  /** Copies `source` to the machine; again when the machine is new, or when `replaceOn` (instead) changes. */
  copy(
    step: string,
    source: pulumi.asset.Asset | pulumi.asset.Archive,
    remotePath: string,
    after: pulumi.Resource[] = [],
    replaceOn?: pulumi.Input<unknown>[],
  ): command.remote.CopyToRemote {
    return new command.remote.CopyToRemote(
      `${this.machine}-${step}`,
      { connection: this.connection(), source, remotePath, triggers: replaceOn ?? [this.args.trigger] },
      { parent: this, dependsOn: [...this.args.before, ...after] },
    );
  }

  private connection(host: pulumi.Input<string> = this.args.host): command.types.input.remote.ConnectionArgs {
    const { ssh } = this.args;
    return {
      host,
      user: ssh.user,
      privateKey: ssh.privateKey,
      agentSocketPath: ssh.agentSocketPath,
      dialErrorLimit: 60,
      perDialTimeout: 10,
      proxy: ssh.bastionHost
        ? { host: ssh.bastionHost, user: ssh.bastionUser ?? ssh.user, privateKey: ssh.privateKey, agentSocketPath: ssh.agentSocketPath, dialErrorLimit: 60, perDialTimeout: 10 }
        : undefined,
    };
  }
}
