import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ClusterPlan, MasterPlan } from "./plan/cluster-plan";
import { encodeBundle, MachineFile } from "./plan/bundle";
import { controlPlaneJoinConfig, initConfig } from "./plan/kubeadm";
import { SharedPki, sharedPkiFiles } from "./plan/pki";
import * as scripts from "./plan/scripts";

/** How the bootstrap reaches the masters: SSH through the bastion. */
export interface SshAccess {
  user: string;
  privateKey: pulumi.Input<string>;
  /** Public address of the bastion. */
  bastionHost: pulumi.Input<string>;
}

export interface KubeadmBootstrapArgs {
  plan: ClusterPlan;
  ssh: SshAccess;
  shared: pulumi.Output<SharedPki>;
  caCertHash: pulumi.Input<string>;
  /** Cloud identity of each master VM, in plan order: a replaced VM re-runs its steps. */
  masterIds: pulumi.Input<string>[];
  /** What must exist before the first SSH connection (VMs, firewall, NAT). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The files a master gets over SSH that are not secret: kubeadm configs and helper scripts. */
export function masterPlainFiles(plan: ClusterPlan, master: MasterPlan, caCertHash: string): MachineFile[] {
  const kubeadmFile: MachineFile =
    master.index === 0
      ? { path: scripts.paths.initConfig, mode: "0644", content: initConfig(plan, master) }
      : { path: scripts.paths.joinConfig, mode: "0644", content: controlPlaneJoinConfig(plan, master, caCertHash) };
  return [
    kubeadmFile,
    { path: scripts.paths.renderConfig, mode: "0755", content: scripts.renderConfigScript() },
    { path: scripts.paths.waitMember, mode: "0755", content: scripts.waitMemberScript() },
    { path: scripts.paths.validate, mode: "0755", content: scripts.validateScript(plan) },
    { path: scripts.paths.etcdMember, mode: "0755", content: scripts.etcdMemberScript() },
  ];
}

/**
 * Runs the kubeadm bootstrap over SSH: files and secrets to every master,
 * `kubeadm init` on master-0, then each other master joins strictly after the
 * previous one is Ready and a healthy voting etcd member; finally a validation
 * step that fails `pulumi up` with the reason, and the admin kubeconfig.
 */
export class KubeadmBootstrap extends pulumi.ComponentResource {
  /** The step that proves the control plane healthy; node pools wait for it. */
  public readonly validated: command.remote.Command;
  /** Admin kubeconfig, secret. */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The init/join step of each master, in order. */
  public readonly memberSteps: command.remote.Command[];

  constructor(name: string, args: KubeadmBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:bootstrap:KubeadmBootstrap", name, {}, opts);
    const { plan, ssh } = args;

    let previous: command.remote.Command | undefined;
    const machines: MachineSteps[] = [];
    this.memberSteps = plan.masters.map((master) => {
      const machine = new MachineSteps(master.name, { ssh, host: master.ip, trigger: args.masterIds[master.index], before: args.dependsOn }, { parent: this });
      machines.push(machine);
      const boot = machine.step("wait-boot", { create: scripts.waitBootCommand() });
      const files = machine.step(
        "files",
        { create: scripts.unpackCommand(), stdin: pulumi.output(args.caCertHash).apply((hash) => encodeBundle(masterPlainFiles(plan, master, hash))) },
        [boot],
      );
      const secrets = machine.step("secrets", { create: scripts.unpackCommand(), stdin: pulumi.secret(args.shared.apply((s) => encodeBundle(sharedPkiFiles(s)))) }, [boot]);
      const member =
        master.index === 0
          ? machine.step("init", { create: scripts.initCommand(plan, master) }, [files, secrets])
          : machine.step("join", { create: scripts.joinCommand(plan, master) }, [files, secrets, previous!]);
      previous = member;
      return member;
    });

    // Membership of each master, held by a healthy peer: when a master's VM is replaced
    // (or the stack destroyed) the peer removes its etcd member and Node first, so a
    // replacement joins a clean cluster (no stale member blocking quorum or learners).
    const memberships = plan.masters.map((master) => {
      const peer = plan.masters[master.index === 0 ? 1 : 0];
      return machines[peer.index].step(
        `etcd-member-${master.name}`,
        { create: scripts.etcdMemberCommand("show", master, peer), delete: scripts.etcdMemberCommand("remove", master, peer), replaceOn: [args.masterIds[master.index]] },
        [this.memberSteps[master.index], this.memberSteps[peer.index]],
        { deleteBeforeReplace: true },
      );
    });

    const first = machines[0];
    this.validated = first.step("validate", { create: scripts.validateCommand(), triggers: [...args.masterIds] }, [previous!, ...memberships]);
    const kubeconfig = first.step("kubeconfig", { create: scripts.kubeconfigCommand() }, [this.validated], { logging: "stderr", secretStdout: true });
    this.kubeconfig = pulumi.secret(kubeconfig.stdout);
    this.registerOutputs({ kubeconfig: this.kubeconfig });
  }
}

interface MachineStepsArgs {
  ssh: SshAccess;
  host: string;
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
  constructor(private readonly machine: string, args: MachineStepsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:bootstrap:MachineSteps", machine, {}, opts);
    this.args = args;
    this.registerOutputs({});
  }

  step(
    step: string,
    cmd: {
      create: string;
      delete?: string;
      stdin?: pulumi.Input<string>;
      /** Extra values whose change re-runs the step (besides this machine's VM). */
      triggers?: pulumi.Input<unknown>[];
      /** Re-run only when these change, instead of when this machine's VM changes. */
      replaceOn?: pulumi.Input<unknown>[];
    },
    after: pulumi.Resource[] = [],
    extra: { logging?: "stdout" | "stderr" | "stdoutAndStderr" | "none"; secretStdout?: boolean; deleteBeforeReplace?: boolean } = {},
  ): command.remote.Command {
    const { ssh, host, trigger } = this.args;
    return new command.remote.Command(
      `${this.machine}-${step}`,
      {
        connection: {
          host,
          user: ssh.user,
          privateKey: ssh.privateKey,
          dialErrorLimit: 60,
          perDialTimeout: 10,
          proxy: { host: ssh.bastionHost, user: ssh.user, privateKey: ssh.privateKey, dialErrorLimit: 60, perDialTimeout: 10 },
        },
        create: cmd.create,
        delete: cmd.delete,
        stdin: cmd.stdin,
        triggers: cmd.replaceOn ?? [trigger, ...(cmd.triggers ?? [])],
        logging: extra.logging ?? "stdoutAndStderr",
      },
      {
        parent: this,
        dependsOn: [...this.args.before, ...after],
        additionalSecretOutputs: extra.secretStdout ? ["stdout"] : undefined,
        deleteBeforeReplace: extra.deleteBeforeReplace,
      },
    );
  }
}
