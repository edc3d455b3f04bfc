// A cluster on hosts you own (platform static): nothing to create; the bootstrap prepares
// the stack's hosts over SSH, directly or through the stack's jump host.
import * as pulumi from "@pulumi/pulumi";
import { StaticClusterConfig } from "./config/validate";
import { hostIdentity } from "./plan/cluster-plan";
import { staticPrepareFiles } from "./plan/static-files";
import { KubeadmBootstrap } from "./bootstrap";
import { controlPlaneHost } from "./control-plane-host";
import { ClusterMade, ClusterParts } from "./cluster-parts";

export function clusterOnHosts({ name, args, plan, parent, bootstrapArgs, backups }: ClusterParts, hosts: StaticClusterConfig["hosts"]): ClusterMade {
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
  // Workers you own join in the bootstrap: no worker groups, so every older token may go.
  bootstrap.pruneTokens([]);
  return { bootstrap, bastionAddress: pulumi.output(bastionHost ?? ""), outputs: {} };
}
