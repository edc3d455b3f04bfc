// What a cluster stack exports for a federation (its `federation` output), and how a
// federation reads it back. Pure types: no Pulumi imports.

/** GCP: where an external load balancer for a federated service goes. */
export interface GcpMemberIngress {
  cloud: "gcp";
  /** Self link of the cluster's VPC (firewall rules for service ports go there). */
  network: string;
  /** Network tag of the workers. */
  workerTag: string;
  /** Instance-group URLs of the worker pools' managed groups, one per pool and zone. */
  workerGroups: string[];
}

/** AWS: where an internet-facing NLB for a federated service goes. */
export interface AwsMemberIngress {
  cloud: "aws";
  vpcId: string;
  publicSubnetIds: string[];
  /** Security group of the workers (service node ports are opened there). */
  workerSecurityGroupId: string;
  /** Names of the workers' auto scaling groups, one per pool and zone. */
  workerGroups: string[];
}

export type MemberIngress = GcpMemberIngress | AwsMemberIngress;

/** The `federation` stack output of every cluster stack. */
export interface MemberExport {
  cluster: string;
  cloud: "gcp" | "aws";
  region: string;
  zones: string[];
  ingress: MemberIngress;
}
