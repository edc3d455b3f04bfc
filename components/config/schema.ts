// The stack configuration of one cluster: types, defaults and the checks that
// need only one field. Cross-field checks (zones in the region, CIDR overlap)
// live in validate.ts. Pure: no Pulumi imports.
import { z } from "zod";
import { DURATION_RE } from "./durations";

/** Config namespace: every key in a stack file is `kubeadm-ha:<key>`. */
export const NAMESPACE = "kubeadm-ha";

/** The stack file's key at `path`: ["nodePools", 0, "labels"] -> `kubeadm-ha:nodePools[0].labels`. */
export function keyOf(path: ReadonlyArray<PropertyKey>): string {
  return NAMESPACE + ":" + path.map((p, i) => (typeof p === "number" ? `[${p}]` : (i ? "." : "") + String(p))).join("");
}

/**
 * Longest cluster and pool name: resource names are built from them (`<cluster>-<pool>-<zone>`,
 * AWS load balancers at 32 characters, GCP instance templates, etc.).
 */
export const CLUSTER_NAME_MAX = 20;
export const POOL_NAME_MAX = 20;

/** Kubernetes release installed from pkgs.k8s.io when `kubernetes.version` is left out. */
export const DEFAULT_KUBERNETES_VERSION = "1.34.2";
/** Calico release applied after `kubeadm init` when `kubernetes.cni.version` is left out. */
export const DEFAULT_CALICO_VERSION = "3.29.1";
/** Flannel release applied after `kubeadm init` when `cni.name` is flannel and no version is given. */
export const DEFAULT_FLANNEL_VERSION = "0.26.1";
/** Validity of the generated CAs: ten years, as kubeadm's own. */
export const CA_VALIDITY_HOURS = 10 * 365 * 24;
/** Validity of the control-plane leaf certificates: one year, kubeadm's own. */
export const DEFAULT_CERTIFICATE_VALIDITY = "8760h";
/** Renew the control-plane certificates 30 days before the earliest expires. */
export const DEFAULT_RENEW_BEFORE = "720h";
/** Lifetime of the bootstrap token workers join with: 30 days, rotated by `pulumi up` after 15. */
export const DEFAULT_TOKEN_TTL = "720h";
/** etcd snapshots every 15 minutes (kops' interval). */
export const DEFAULT_BACKUP_EVERY = "15m";
/** Snapshots are kept 7 days. */
export const DEFAULT_BACKUP_KEEP_DAYS = 7;
/** Where a directory destination puts snapshots. */
export const DEFAULT_BACKUP_DIRECTORY = "/var/backups/kubeadm-ha";
/** The apiserver's encryption providers a stack may choose (both take a 32-byte key). */
export const ENCRYPTION_PROVIDERS = ["secretbox", "aescbc"] as const;
/** Secrets encrypted at rest by default, with secretbox (RKE2 encrypts them by default too). */
export const DEFAULT_ENCRYPTION = { enabled: true, provider: "secretbox" as const, keyRound: 1 };
/** The audit log on by default; rotated at 100 MB, 10 files kept for 30 days at most. */
export const DEFAULT_AUDIT = { enabled: true, maxAgeDays: 30, maxBackups: 10, maxSizeMB: 100 };
/** CNIs the program installs (or none). */
export const CNI_NAMES = ["calico", "flannel", "bridge", "none"] as const;
/** The kubelet's eviction signals (kubelet config evictionHard keys). */
export const EVICTION_SIGNALS = [
  "memory.available",
  "nodefs.available",
  "nodefs.inodesFree",
  "imagefs.available",
  "imagefs.inodesFree",
  "containerfs.available",
  "containerfs.inodesFree",
  "pid.available",
] as const;
/** Where etcd runs: on the masters (kubeadm's stacked topology) or on machines of its own. */
export const ETCD_TOPOLOGIES = ["stacked", "external"] as const;
/** External etcd members on GCP/AWS when etcd.count is left out. */
export const DEFAULT_ETCD_COUNT = 3;
/** External etcd members' disk, GB: etcd's fsync latency is the disk's. */
export const DEFAULT_ETCD_DISK_SIZE_GB = 50;
/** Masters: an HA control plane needs three; five survives two failures. */
export const DEFAULT_CONTROL_PLANE_COUNT = 3;
/** Boot disk of every machine, GB (etcd wants fast disk: pd-balanced). */
export const DEFAULT_DISK_SIZE_GB = 100;
/** Subnet of the machines. */
export const DEFAULT_NODE_CIDR = "10.10.0.0/20";
/** Pod network (kubeadm `networking.podSubnet`). */
export const DEFAULT_POD_CIDR = "10.244.0.0/16";
/** Service network (kubeadm `networking.serviceSubnet`). */
export const DEFAULT_SERVICE_CIDR = "10.96.0.0/12";
/** SSH user created on every machine by cloud-init, with passwordless sudo; the bootstrap logs in as it. */
export const DEFAULT_SSH_USER = "kubeadm-ha";

const dns1123Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "must be an IPv4 CIDR such as 10.10.0.0/20");

const hostSchema = z
  .object({
    /** Node name (kubelet registers with it). */
    name: z
      .string()
      .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, "must be lower-case letters, digits and '-', starting with a letter")
      .max(63),
    address: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, "must be an IPv4 address"),
    /** Failure domain label (rack, room); topology.kubernetes.io/zone. @default "site" */
    zone: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lower-case letters, digits and '-' (it becomes the node's topology.kubernetes.io/zone label)")
      .max(63)
      .default("site"),
    /** Node labels set by the kubelet when the host joins (besides topology.kubernetes.io/zone). @default {} */
    labels: z.record(z.string(), z.string()).default({}),
    /**
     * What tells this machine from an earlier one at the same address (an asset tag, a
     * reinstall date). Change it when the host is replaced or reinstalled: every step runs
     * again on it, and a master's old etcd member is removed first. @default none
     */
    machine: z
      .string()
      .regex(/^[A-Za-z0-9][-A-Za-z0-9_.:]*$/, "must be letters, digits and - _ . :")
      .max(63)
      .optional(),
  })
  .strict();

const taint = z
  .object({
    key: z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "must be a label-style key"),
    value: z.string().max(63).optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
  })
  .strict();

export const nodePoolSchema = z
  .object({
    /** Pool name, part of every machine name of the pool. */
    name: z.string().regex(dns1123Label, "must be lower-case letters, digits and '-', starting with a letter").max(POOL_NAME_MAX),
    /** @default every zone of the cluster */
    zones: z.array(z.string()).min(1).optional(),
    /** @default the platform's (config/platforms/): workerMachineType */
    machineType: z.string().min(1).optional(),
    /** Nodes started in each zone. @default 1 */
    nodesPerZone: z.number().int().min(0).default(1),
    /** Autoscaler floor per zone. @default nodesPerZone */
    minPerZone: z.number().int().min(0).optional(),
    /** Autoscaler ceiling per zone. @default nodesPerZone */
    maxPerZone: z.number().int().min(1).optional(),
    /**
     * GCE autoscaler mode. The GCE autoscaler removes VMs without draining them, so the
     * default only scales out; set "ON" to let it scale in too. @default "ONLY_SCALE_OUT"
     */
    autoscalingMode: z.enum(["ON", "ONLY_SCALE_OUT", "OFF"]).default("ONLY_SCALE_OUT"),
    /** @default DEFAULT_DISK_SIZE_GB */
    diskSizeGb: z.number().int().min(20).max(65536).default(DEFAULT_DISK_SIZE_GB),
    /** Node labels set by the kubelet at registration. @default {} */
    labels: z.record(z.string(), z.string()).default({}),
    /** Node taints set at registration. @default [] */
    taints: z.array(taint).default([]),
  })
  .strict();

export const clusterConfigSchema = z
  .object({
    /** Which kind of stack this is. Only `cluster` exists today. @default "cluster" */
    layout: z.enum(["cluster"]).default("cluster"),
    /** Where machines come from. @default "gcp" */
    platform: z.enum(["gcp", "aws", "static"]).default("gcp"),
    /** Cluster name: prefix of every resource name. @default the stack name */
    clusterName: z.string().regex(dns1123Label, "must be lower-case letters, digits and '-', starting with a letter").max(CLUSTER_NAME_MAX).optional(),
    /** Cloud region of every machine, e.g. europe-west1. Required. */
    region: z.string().min(1).optional(),
    /** Zones of the region; one master per zone (round-robin when there are more masters than zones). Required. */
    zones: z.array(z.string().min(1)).min(1).optional(),
    /** static: the machines you own. The bootstrap reaches them over SSH. */
    hosts: z
      .object({
        masters: z.array(hostSchema).min(1),
        /** @default [] */
        workers: z.array(hostSchema).default([]),
        /** User with passwordless sudo on every host. @default "ubuntu" */
        sshUser: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]*$/, "must be a user name")
          .default("ubuntu"),
        /**
         * etcd.topology external: the machines of the etcd cluster, 3 or 5, each in a failure
         * domain of its own (zone), none of them a master or a worker. @default none
         */
        etcd: z.array(hostSchema).optional(),
        /** SSH jump host (`host` or `user@host`), when the hosts are not reachable directly. @default none */
        bastion: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    controlPlane: z
      .object({
        /** Number of masters (and stacked etcd members). @default 3 */
        count: z.number().int().default(DEFAULT_CONTROL_PLANE_COUNT),
        /**
         * Whether the control plane must survive the loss of a zone: three zones or more
         * and 3 or 5 masters. Set false, explicitly, for a dev cluster (1 master allowed,
         * fewer zones); the policy pack then does not ask for three zones. @default true
         */
        highAvailability: z.boolean().default(true),
        /** @default the platform's (config/platforms/): masterMachineType */
        machineType: z.string().min(1).optional(),
        /** @default DEFAULT_DISK_SIZE_GB */
        diskSizeGb: z.number().int().min(20).max(65536).default(DEFAULT_DISK_SIZE_GB),
      })
      .strict()
      .default({ count: DEFAULT_CONTROL_PLANE_COUNT, highAvailability: true, diskSizeGb: DEFAULT_DISK_SIZE_GB }),
    etcd: z
      .object({
        /**
         * Where etcd runs: `stacked` (a member on every master, kubeadm's default) or `external`
         * (a cluster of its own machines, one per zone, that every apiserver is pointed at:
         * losing a master never costs a member). @default "stacked"
         */
        topology: z.enum(ETCD_TOPOLOGIES).default("stacked"),
        /** external, GCP/AWS: members, 3 or 5, round-robin over the zones. @default 3 */
        count: z.number().int().optional(),
        /** external, GCP/AWS: the members' machine type. @default the platform's (config/platforms/): etcdMachineType */
        machineType: z.string().min(1).optional(),
        /** external, GCP/AWS: the members' disk, GB (etcd wants fast disk: pd-ssd or gp3). @default DEFAULT_ETCD_DISK_SIZE_GB */
        diskSizeGb: z.number().int().min(20).max(65536).optional(),
      })
      .strict()
      .default({ topology: "stacked" }),
    /** Worker pools. @default [] (a control plane only) */
    nodePools: z.array(nodePoolSchema).default([]),
    network: z
      .object({
        /** @default DEFAULT_NODE_CIDR */
        nodeCidr: cidr.default(DEFAULT_NODE_CIDR),
        /** @default DEFAULT_POD_CIDR */
        podCidr: cidr.default(DEFAULT_POD_CIDR),
        /** @default DEFAULT_SERVICE_CIDR */
        serviceCidr: cidr.default(DEFAULT_SERVICE_CIDR),
        /** AWS: a NAT gateway in every zone (zone-independent egress) or a single one (cheaper). @default "one-per-zone" on AWS */
        natGateways: z.enum(["one-per-zone", "single"]).optional(),
      })
      .strict()
      .default({ nodeCidr: DEFAULT_NODE_CIDR, podCidr: DEFAULT_POD_CIDR, serviceCidr: DEFAULT_SERVICE_CIDR }),
    kubernetes: z
      .object({
        /** Kubernetes release, x.y.z, 1.31 or newer (kubeadm v1beta4). @default DEFAULT_KUBERNETES_VERSION */
        version: z
          .string()
          .regex(/^1\.\d+\.\d+$/, "must be a release such as 1.34.2 (no leading v)")
          .default(DEFAULT_KUBERNETES_VERSION),
        cni: z
          .object({
            /**
             * calico, flannel, bridge (no image: containerd's bridge CNI on each node and
             * routes between the nodes' pod ranges; hosts you own on one L2 segment), or
             * none (bring your own after `pulumi up`). @default "calico"
             */
            name: z.enum(CNI_NAMES).default("calico"),
            /** Release of the CNI manifest. @default DEFAULT_CALICO_VERSION / DEFAULT_FLANNEL_VERSION */
            version: z
              .string()
              .regex(/^\d+\.\d+\.\d+$/, "must be a release such as 3.29.1 (no leading v)")
              .optional(),
          })
          .strict()
          .default({ name: "calico" }),
        packages: z
          .object({
            /**
             * Where kubeadm, kubelet, kubectl, the control-plane images and the CNI plugins
             * come from: `repository` (pkgs.k8s.io and registry.k8s.io) or `bundle` (an
             * air-gapped bundle made by `npm run bundle`; hosts you own). @default "repository"
             */
            source: z.enum(["repository", "bundle"]).default("repository"),
            /** bundle: the bundle's folder on the deploying machine, copied to every host over SSH. */
            path: z.string().min(1).optional(),
            /** bundle: the bundle's base URL, reachable from every host (e.g. an internal web server). */
            url: z
              .string()
              .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, "must be an http:// or https:// URL")
              .optional(),
          })
          .strict()
          .default({ source: "repository" }),
        kubelet: z
          .object({
            /**
             * Allow hosts whose kernel offers cgroup v1 only (kubelet `failCgroupV1: false`);
             * cgroup v1 support is in maintenance and ends with containerd 1.x. @default false
             */
            allowCgroupV1: z.boolean().default(false),
            /**
             * kubelet `evictionHard` thresholds by signal, e.g. {"nodefs.available": "0%"}
             * where hosts share one disk. @default the kubelet's own
             */
            evictionHard: z
              .partialRecord(z.enum(EVICTION_SIGNALS), z.string().regex(/^(\d+(\.\d+)?%|\d+(Ki|Mi|Gi|Ti)?)$/, "must be a percentage such as 10% or a quantity such as 100Mi"))
              .optional(),
            /** Disk use (%) above which unused images are removed; 100 never removes them. @default 85 */
            imageGCHighThresholdPercent: z.number().int().min(1).max(100).optional(),
          })
          .strict()
          .default({ allowCgroupV1: false }),
        containerd: z
          .object({
            /**
             * Clamp every container's oom_score_adj to containerd's own: needed where hosts
             * cannot lower it (hosts that are themselves containers: LXC, systemd-nspawn). @default false
             */
            restrictOomScoreAdj: z.boolean().default(false),
          })
          .strict()
          .default({ restrictOomScoreAdj: false }),
        controllerManager: z
          .object({
            /**
             * How long a node may miss its heartbeats (its Lease, renewed every 10 s) before
             * kube-controller-manager marks it NotReady and takes its pods out of Services
             * (cluster DNS included). Lower fails over sooner when a host is lost, and marks
             * a node that is only slow NotReady sooner. @default 50 (Kubernetes' own)
             */
            nodeMonitorGracePeriodSeconds: z.number().int().min(20).max(600).optional(),
          })
          .strict()
          .default({}),
        kubeProxy: z
          .object({
            /**
             * kube-proxy `conntrack.maxPerCore`; 0 leaves the kernel's nf_conntrack_max alone
             * (hosts that share a kernel cannot set it). @default 32768 (kube-proxy's)
             */
            conntrackMaxPerCore: z.number().int().min(0).optional(),
          })
          .strict()
          .default({}),
        certificates: z
          .object({
            /**
             * Validity of the leaf certificates kubeadm issues to the control plane (apiserver,
             * etcd, front-proxy client, the admin, controller-manager and scheduler kubeconfigs):
             * kubeadm's certificateValidityPeriod, e.g. "8760h" or "2h30m". @default "8760h"
             */
            validity: z.string().regex(DURATION_RE, 'must be hours and minutes such as "8760h" or "2h30m"').default(DEFAULT_CERTIFICATE_VALIDITY),
            /**
             * Renew them once the earliest expires within this: a timer on each master checks
             * (one master at a time, its static pods restarted), and so does every `pulumi up`.
             * Less than validity. @default "720h" (30 days)
             */
            renewBefore: z.string().regex(DURATION_RE, 'must be hours and minutes such as "720h" or "30m"').default(DEFAULT_RENEW_BEFORE),
          })
          .strict()
          .default({ validity: DEFAULT_CERTIFICATE_VALIDITY, renewBefore: DEFAULT_RENEW_BEFORE }),
        bootstrapToken: z
          .object({
            /**
             * Lifetime of the bootstrap token new workers join with, e.g. "720h". `pulumi up`
             * rotates it once half of it has passed: run an up at least that often (a
             * scheduled job) for worker groups to keep joining. @default "720h" (30 days)
             */
            ttl: z.string().regex(DURATION_RE, 'must be hours and minutes such as "720h" or "2h"').default(DEFAULT_TOKEN_TTL),
          })
          .strict()
          .default({ ttl: DEFAULT_TOKEN_TTL }),
        encryption: z
          .object({
            /**
             * Secrets encrypted at rest in etcd: an EncryptionConfiguration identical on every
             * master, its key a Pulumi secret. Off stores them as etcd's plain bytes. @default true
             */
            enabled: z.boolean().default(true),
            /** The apiserver's provider: "secretbox" (XSalsa20-Poly1305) or "aescbc". @default "secretbox" */
            provider: z.enum(ENCRYPTION_PROVIDERS).default("secretbox"),
            /**
             * The key's round: raise it by one to rotate the key (a new key, read everywhere,
             * then written everywhere, then every Secret rewritten with it). @default 1
             */
            keyRound: z.number().int().min(1).default(1),
          })
          .strict()
          .default(DEFAULT_ENCRYPTION),
        audit: z
          .object({
            /** The apiservers' audit log (metadata of every request; no Secret bodies). @default true */
            enabled: z.boolean().default(true),
            /** Days a rotated audit log file is kept. @default 30 */
            maxAgeDays: z.number().int().min(1).max(3650).default(DEFAULT_AUDIT.maxAgeDays),
            /** Rotated audit log files kept. @default 10 */
            maxBackups: z.number().int().min(1).max(1000).default(DEFAULT_AUDIT.maxBackups),
            /** Size at which the audit log is rotated, MB. @default 100 */
            maxSizeMB: z.number().int().min(1).max(10000).default(DEFAULT_AUDIT.maxSizeMB),
          })
          .strict()
          .default(DEFAULT_AUDIT),
      })
      .strict()
      .default({
        version: DEFAULT_KUBERNETES_VERSION,
        cni: { name: "calico" },
        packages: { source: "repository" },
        kubelet: { allowCgroupV1: false },
        containerd: { restrictOomScoreAdj: false },
        controllerManager: {},
        kubeProxy: {},
        certificates: { validity: DEFAULT_CERTIFICATE_VALIDITY, renewBefore: DEFAULT_RENEW_BEFORE },
        bootstrapToken: { ttl: DEFAULT_TOKEN_TTL },
        encryption: DEFAULT_ENCRYPTION,
        audit: DEFAULT_AUDIT,
      }),
    backups: z
      .object({
        /**
         * Scheduled etcd snapshots, taken by one healthy master at a time. Turn them off only
         * explicitly (the policy pack asks a production stack to say so). @default true
         */
        enabled: z.boolean().default(true),
        /**
         * With enabled: false on an HA cluster, why it has no backups (a sentence): the policy
         * pack accepts an HA cluster without backups only when the stack says why.
         */
        offReason: z.string().min(10, "must say why in a sentence (10 characters or more)").optional(),
        /** How often, from 5m to 24h, e.g. "15m". @default "15m" */
        every: z.string().regex(DURATION_RE, 'must be hours and minutes such as "15m" or "1h"').default(DEFAULT_BACKUP_EVERY),
        /** Days a snapshot is kept, 1 to 3650. @default 7 */
        keepDays: z.number().int().min(1).max(3650).default(DEFAULT_BACKUP_KEEP_DAYS),
        /**
         * Where snapshots go: `bucket` (GCP/AWS: a bucket the program makes, versioned,
         * encrypted, with a lifecycle rule), `directory` (hosts you own: a folder on every
         * master, e.g. a mounted share), `s3` (an S3-compatible endpoint of yours).
         * @default bucket on GCP/AWS, directory on static
         */
        destination: z.enum(["bucket", "directory", "s3"]).optional(),
        /** directory: the folder, absolute. @default "/var/backups/kubeadm-ha" */
        path: z
          .string()
          .regex(/^\/[A-Za-z0-9._/-]*$/, "must be an absolute path of letters, digits, '.', '_', '-' and '/'")
          .optional(),
        /** s3: the endpoint and bucket, and keys that may add, list and delete objects there. */
        s3: z
          .object({
            /** The endpoint's URL, e.g. https://minio.example.com:9000 (path-style requests). */
            endpoint: z
              .string()
              .regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/, "must be an http(s) URL of a host and an optional port, such as https://minio.example.com:9000"),
            /** The bucket, which must exist. */
            bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name: 3 to 63 lower-case letters, digits, '.' and '-'"),
            /** The region the endpoint signs for. @default "us-east-1" */
            region: z
              .string()
              .regex(/^[a-z0-9-]+$/, "must be a region name such as us-east-1")
              .default("us-east-1"),
            accessKeyId: z.string().min(1),
            /** Set it with `pulumi config set --secret --path kubeadm-ha:backups.s3.secretAccessKey`. */
            secretAccessKey: z.string().min(1),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({ enabled: true, every: DEFAULT_BACKUP_EVERY, keepDays: DEFAULT_BACKUP_KEEP_DAYS }),
    restore: z
      .object({
        /**
         * A snapshot at the backup destination to restore every etcd member from, e.g.
         * prod/20261203T101500Z-prod-master-1.db (the `backups` output's `taken`, or the
         * destination's listing). The masters fetch it: a directory or an endpoint of yours.
         */
        snapshot: z
          .string()
          .regex(/^[a-z0-9-]+\/\d{8}T\d{6}Z-[a-z0-9.-]+\.db$/, "must be a snapshot name such as prod/20261203T101500Z-prod-master-1.db")
          .optional(),
        /** Or a snapshot file on the machine that runs `pulumi up`, copied to every master. */
        file: z.string().min(1).optional(),
        /** Raise it to restore from the same snapshot again. @default 1 */
        round: z.number().int().min(1).default(1),
      })
      .strict()
      .optional(),
    endpoint: z
      .object({
        /** How clients reach kube-apiserver: `cloud-lb` (GCP/AWS internal LB), `vip` (keepalived + haproxy, hosts you own), `local-proxy` (haproxy on every node). @default cloud-lb on GCP/AWS, vip on static */
        mode: z.enum(["cloud-lb", "vip", "local-proxy"]).optional(),
        /** vip: the virtual address, in network.nodeCidr and used by no host. */
        vip: z
          .string()
          .regex(/^\d{1,3}(\.\d{1,3}){3}$/, "must be an IPv4 address")
          .optional(),
        /** vip: the hosts' interface on the VIP's segment. @default "eth0" */
        interface: z
          .string()
          .regex(/^(?!\.\.?$)[a-zA-Z0-9_.-]{1,15}$/, "must be an interface name such as eth0 (up to 15 letters, digits and _ . -; not . or ..)")
          .default("eth0"),
        /** Stable DNS name in controlPlaneEndpoint and the apiserver certificate. @default api.<clusterName>.internal */
        name: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/, "must be a DNS name such as api.prod.internal")
          .optional(),
      })
      .strict()
      .default({ interface: "eth0" }),
    /** CIDRs allowed to SSH to the bastion. Required: there is no default that opens it to the world. */
    adminCidrs: z.array(cidr).min(1).optional(),
    /** OpenSSH public key for the `kubeadm-ha` user. @default a key pair generated by the program and kept as a secret */
    sshPublicKey: z
      .string()
      .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) [A-Za-z0-9+/=]+( .*)?$/, "must be one OpenSSH public key line")
      .optional(),
    /** OpenSSH private key matching sshPublicKey; set it with `pulumi config set --secret`. @default generated with the public key */
    sshPrivateKey: z.string().includes("PRIVATE KEY", { message: "must be an OpenSSH or PEM private key" }).optional(),
    /** Boot image: GCP `project/family` or image link; AWS AMI id to pin. @default GCP: DEFAULT_GCP_IMAGE (config/platforms/gcp.ts); AWS: newest Canonical Ubuntu 24.04 AMI */
    image: z.string().min(1).optional(),
    bastion: z
      .object({
        /** @default the platform's (config/platforms/): bastionMachineType */
        machineType: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type ClusterConfigInput = z.input<typeof clusterConfigSchema>;
export type ParsedClusterConfig = z.output<typeof clusterConfigSchema>;
export type NodePoolConfig = z.output<typeof nodePoolSchema>;

/** Keys whose values never appear in error messages. */
export const SECRET_KEYS = ["sshPrivateKey", "backups.s3.secretAccessKey"];

/**
 * What to do about a bad key: shown after the error, keyed by the most specific
 * path without list indices (`nodePools.taints.effect`), else its first element.
 */
export const FIX_HINTS: Record<string, string> = {
  layout: 'set it to "cluster" (or leave it out), or to "federation" for a federation stack',
  platform: 'set it to "gcp", "aws" or "static" (or leave it out for gcp)',
  clusterName: `use up to ${CLUSTER_NAME_MAX} lower-case letters, digits and '-', starting with a letter, e.g. prod`,
  region: "set the cloud region, e.g. `pulumi config set kubeadm-ha:region europe-west1`",
  zones: "list three or more distinct zones of the region, e.g. [europe-west1-b, europe-west1-c, europe-west1-d]",
  controlPlane: "use controlPlane.count 3 or 5, highAvailability true or false, and a machine type such as e2-standard-4",
  nodePools: "see the nodePools entry of the config reference in README.md",
  network: "use three IPv4 CIDRs that do not overlap, e.g. nodeCidr 10.10.0.0/20, podCidr 10.244.0.0/16, serviceCidr 10.96.0.0/12",
  kubernetes: "use a release such as 1.34.2 and cni calico, flannel, bridge or none",
  "kubernetes.cni": 'write cni as a map, e.g. {name: calico} or {name: flannel, version: "0.26.1"}',
  "network.nodeCidr": "write the hosts' (VMs') IPv4 CIDR, e.g. 10.10.0.0/20 (GCP/AWS) or your hosts' subnet, e.g. 10.103.97.0/24",
  "network.podCidr": "write an IPv4 CIDR for pods, /22 or larger, that overlaps neither nodeCidr nor serviceCidr, e.g. 10.244.0.0/16",
  "network.serviceCidr": "write an IPv4 CIDR for Services, /12 to /24, that overlaps neither nodeCidr nor podCidr, e.g. 10.96.0.0/12",
  "network.natGateways": 'on AWS use "one-per-zone" (a zone lost keeps the others\' way out) or "single" (cheaper); remove it on GCP and hosts you own',
  "kubernetes.cni.name": 'use "calico", "flannel", "bridge" (no image; hosts you own on one segment) or "none"',
  "kubernetes.packages": 'use packages.source "repository" (default), or "bundle" with packages.path (a folder made by `npm run bundle`) or packages.url',
  "kubernetes.packages.source": 'use "repository" (pkgs.k8s.io) or "bundle" (air-gapped, with packages.path or packages.url)',
  "kubernetes.packages.url": "write the bundle's base URL as the hosts reach it, e.g. http://10.0.0.5:8080/kubeadm-ha-bundle",
  "kubernetes.kubelet": "use allowCgroupV1 (true/false), evictionHard ({signal: threshold}) and imageGCHighThresholdPercent (1-100)",
  "kubernetes.kubelet.evictionHard": 'map eviction signals to thresholds, e.g. {"nodefs.available": "10%", "memory.available": "100Mi"}',
  "kubernetes.kubelet.imageGCHighThresholdPercent": "use a whole number from 1 to 100, e.g. 85 (100 never removes images)",
  "kubernetes.containerd": "use restrictOomScoreAdj: true or false",
  "kubernetes.controllerManager": "use nodeMonitorGracePeriodSeconds, a whole number of seconds from 20 to 600",
  "kubernetes.controllerManager.nodeMonitorGracePeriodSeconds":
    "use a whole number of seconds from 20 (two missed Lease renewals) to 600, e.g. 30; leave it out for Kubernetes' 50",
  "kubernetes.kubeProxy": "use conntrackMaxPerCore, a whole number from 0 (0 leaves nf_conntrack_max alone)",
  "kubernetes.certificates": 'use validity and renewBefore, durations such as "8760h" and "720h"',
  "kubernetes.certificates.validity": "use hours and minutes from 1h to 87600h (the CAs' ten years), e.g. \"8760h\" (one year, kubeadm's own)",
  "kubernetes.certificates.renewBefore": 'use hours and minutes from 10m, less than certificates.validity, e.g. "720h" (30 days)',
  "kubernetes.bootstrapToken": 'use ttl, a duration such as "720h"',
  "kubernetes.bootstrapToken.ttl": 'use hours and minutes from 1h to 8760h, e.g. "720h" (30 days); pulumi up rotates the token once half of it has passed',
  "kubernetes.encryption": 'use enabled (true/false), provider ("secretbox" or "aescbc") and keyRound (1, raised by one to rotate)',
  "kubernetes.encryption.enabled": "use true (Secrets encrypted at rest) or false",
  "kubernetes.encryption.provider": 'use "secretbox" or "aescbc"; changing it on a running cluster rewrites every Secret, like a new keyRound',
  "kubernetes.encryption.keyRound": "use a whole number from 1, raised by one to rotate the key (never lowered, never by more than one at a time)",
  "kubernetes.audit": "use enabled (true/false), maxAgeDays, maxBackups and maxSizeMB (whole numbers)",
  "kubernetes.audit.enabled": "use true (the apiservers' audit log) or false",
  "kubernetes.audit.maxAgeDays": "use a whole number of days from 1 to 3650, e.g. 30",
  "kubernetes.audit.maxBackups": "use a whole number of files from 1 to 1000, e.g. 10",
  "kubernetes.audit.maxSizeMB": "use a whole number of MB from 1 to 10000, e.g. 100",
  "kubernetes.kubeProxy.conntrackMaxPerCore": "use a whole number from 0, e.g. 32768, or 0 to leave nf_conntrack_max alone",
  "hosts.masters": "list 3 (or 5) masters, each {name, address, zone}, e.g. [{name: dc1-master-0, address: 10.103.97.200, zone: rack-a}, ...]",
  "hosts.workers": "list the workers, each {name, address}, e.g. [{name: dc1-worker-0, address: 10.103.97.210}], or [] for none",
  "hosts.masters.name": "write the host's node name: lower-case letters, digits and '-', e.g. dc1-master-0",
  "hosts.masters.address": "write the host's IPv4 address in network.nodeCidr, e.g. 10.103.97.200",
  "hosts.masters.zone": "write the host's failure domain (rack, room), e.g. rack-a",
  "hosts.masters.labels": 'map label keys to values, e.g. {"example.com/disk": ssd}',
  "hosts.masters.machine": "write what identifies this machine (an asset tag, a serial): a new value says the machine at that address was replaced",
  "hosts.workers.name": "write the host's node name: lower-case letters, digits and '-', e.g. dc1-worker-0",
  "hosts.workers.address": "write the host's IPv4 address in network.nodeCidr, e.g. 10.103.97.210",
  "hosts.workers.zone": "write the host's failure domain (rack, room), e.g. rack-a",
  "hosts.workers.labels": 'map label keys to values, e.g. {"example.com/disk": ssd}',
  "hosts.workers.machine": "write what identifies this machine (an asset tag, a serial): a new value says the machine at that address was replaced",
  "hosts.sshUser": "write the user the program logs in as on every host, e.g. ubuntu (it needs sudo without a password)",
  "hosts.bastion": "write a jump host as host or user@host, e.g. ops@bastion.example.com, or leave it out to reach the hosts directly",
  etcd: 'use etcd.topology "stacked" (the default) or "external", and for external on GCP/AWS count, machineType and diskSizeGb',
  "etcd.topology": 'use "stacked" (a member on every master, the default) or "external" (machines of its own: hosts.etcd on hosts you own, etcd.count on GCP/AWS)',
  "etcd.count": "use 3 (survives one failure) or 5 (survives two)",
  "etcd.machineType": "use a machine type of the platform, e.g. e2-standard-2 (GCP) or m6i.large (AWS)",
  "etcd.diskSizeGb": "use a whole number of GB from 20 to 65536, e.g. 50",
  "hosts.etcd": "list 3 (or 5) etcd machines, each {name, address, zone} in a zone of its own, e.g. [{name: dc1-etcd-0, address: 10.103.97.220, zone: rack-a}, ...]",
  "hosts.etcd.name": "write the machine's name: lower-case letters, digits and '-', e.g. dc1-etcd-0",
  "hosts.etcd.address": "write the machine's IPv4 address in network.nodeCidr, e.g. 10.103.97.220",
  "hosts.etcd.zone": "write the machine's failure domain (rack, room), e.g. rack-a",
  "hosts.etcd.labels": "remove labels: an etcd machine is not a Kubernetes node",
  "hosts.etcd.machine": "write what identifies this machine (an asset tag, a serial): a new value says the machine at that address was replaced",
  "controlPlane.count": "use 3 (survives one failure) or 5 (survives two); 1 only with highAvailability: false",
  "controlPlane.highAvailability": "use true (masters in three zones, the default) or false (a dev cluster that need not survive a zone loss)",
  "controlPlane.machineType": "use a machine type of the platform, e.g. e2-standard-4 (GCP) or m6i.xlarge (AWS)",
  "bastion.machineType": "use a small machine type of the platform, e.g. e2-small (GCP) or t3.small (AWS)",
  "nodePools.machineType": "use a machine type of the platform, e.g. e2-standard-4 (GCP) or m6i.xlarge (AWS)",
  "nodePools.autoscalingMode": 'use "ONLY_SCALE_OUT" (the default: the GCE autoscaler removes VMs without draining them), "ON" or "OFF"',
  "nodePools.labels": 'map label keys to values, e.g. {"example.com/team": data, tier: web}',
  "nodePools.taints": "list taints, each {key, value, effect}, e.g. [{key: dedicated, value: gpu, effect: NoSchedule}]",
  "nodePools.taints.key": "write a key such as example.com/dedicated or dedicated",
  "nodePools.taints.value": "write a value such as gpu or batch-jobs (letters, digits, '-', '_', '.'; at most 63)",
  "kubernetes.packages.path": "write the folder `npm run bundle` made, e.g. ./kubeadm-ha-bundle",
  "kubernetes.kubelet.allowCgroupV1": "use true only on hosts that have cgroup v1 alone (from 1.35 the kubelet refuses them unless told), else false",
  "kubernetes.containerd.restrictOomScoreAdj": "use true on hosts that are containers without CAP_SYS_RESOURCE, else false (the default)",
  "backups.enabled": "use true (scheduled etcd snapshots, the default) or false with backups.offReason",
  "backups.s3.region": "write the region the endpoint signs for, e.g. us-east-1 (MinIO's default)",
  "backups.s3.accessKeyId": "write the access key's id, e.g. etcd-backups (its secret goes in backups.s3.secretAccessKey)",
  "endpoint.mode": 'use "cloud-lb" on GCP/AWS, "vip" (with endpoint.vip) or "local-proxy" on your own hosts',
  "endpoint.vip": "write a free address of the hosts' subnet, e.g. 10.103.97.2 (mode vip on hosts you own)",
  "endpoint.interface": "write the hosts' interface on the VIP's segment, e.g. eth0 (mode vip)",
  endpoint: 'use endpoint.mode "cloud-lb" on GCP/AWS, "vip" (with endpoint.vip) or "local-proxy" on your own hosts',
  hosts: "list your machines: hosts.masters (3 or 5) and hosts.workers, each {name, address}",
  adminCidrs: "list the CIDRs of your office or VPN, e.g. [198.51.100.0/24]",
  sshPrivateKey: "set it with `pulumi config set --secret kubeadm-ha:sshPrivateKey < key` next to sshPublicKey, or leave both out",
  sshPublicKey: "paste one line of an OpenSSH public key, or leave the key out to have one generated",
  image: "on GCP use project/family, e.g. ubuntu-os-cloud/ubuntu-2404-lts-amd64; on AWS an AMI id, e.g. ami-0123456789abcdef0",
  bastion: "use bastion.machineType, e.g. e2-small",
  "controlPlane.diskSizeGb": "use a whole number of GB from 20 to 65536, e.g. 100",
  "nodePools.diskSizeGb": "use a whole number of GB from 20 to 65536, e.g. 100",
  "nodePools.name": `use up to ${POOL_NAME_MAX} lower-case letters, digits and '-', starting with a letter, e.g. general`,
  "nodePools.zones": "list one or more of the cluster's zones, or leave zones out for all of them",
  "nodePools.nodesPerZone": "use a whole number from 0, between minPerZone and maxPerZone, e.g. 3",
  "nodePools.minPerZone": "use a whole number from 0, at most nodesPerZone",
  "nodePools.maxPerZone": "use a whole number from 1, at least nodesPerZone",
  "nodePools.taints.effect": 'use "NoSchedule", "PreferNoSchedule" or "NoExecute"',
  "kubernetes.version": 'write the full release as a quoted string, e.g. "1.34.2" (1.31 or newer, no leading v)',
  "kubernetes.cni.version": "use the CNI's release such as 3.29.1 (calico) or 0.26.1 (flannel), no leading v, or leave it out",
  backups: 'use enabled, every (e.g. "15m"), keepDays (e.g. 7) and destination ("bucket", "directory" or "s3")',
  "backups.offReason": 'write why this cluster needs no etcd backups, e.g. "a test cluster, rebuilt from git every night"',
  restore: "give restore.snapshot (a name at the backup destination) or restore.file (a local snapshot file), and remove restore once the cluster is back",
  "restore.snapshot": "use a name the backups output or the destination lists, e.g. prod/20261203T101500Z-prod-master-1.db",
  "restore.file": "write the path of an etcd snapshot file on this machine, e.g. ./prod-snapshot.db",
  "restore.round": "use a whole number from 1; raise it by one to restore from the same snapshot again",
  "backups.every": 'use hours and minutes from 5m to 24h, e.g. "15m"',
  "backups.keepDays": "use a whole number of days from 1 to 3650, e.g. 7",
  "backups.destination": 'use "bucket" on GCP/AWS, "directory" (with backups.path) or "s3" (with backups.s3) on hosts you own',
  "backups.path": "write an absolute folder on the masters, e.g. /var/backups/kubeadm-ha (a mounted share survives a lost master)",
  "backups.s3": "give endpoint, bucket, region, accessKeyId and secretAccessKey (set with `pulumi config set --secret --path`)",
  "backups.s3.endpoint": "write the endpoint's URL, e.g. https://minio.example.com:9000",
  "backups.s3.bucket": "write the name of an existing bucket, e.g. etcd-backups",
  "backups.s3.secretAccessKey": "set it with `pulumi config set --secret --path kubeadm-ha:backups.s3.secretAccessKey`",
  "endpoint.name": "use a DNS name such as api.prod.internal, or leave it out for api.<clusterName>.internal",
};
