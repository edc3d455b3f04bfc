import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import * as random from "@pulumi/random";
import { ClusterPlan } from "../plan/cluster-plan";
import { BackupDestination, backupBucketName, BUCKET_SUFFIX_BYTES, NONCURRENT_DAYS } from "../plan/backups";
import { LABEL } from "../plan/labels";

export interface GcpBackupBucketArgs {
  plan: ClusterPlan;
  /** The masters' service account: it may add objects, nothing else. */
  writerEmail: pulumi.Input<string>;
}

/**
 * The Cloud Storage bucket of the cluster's etcd snapshots (plan/backups.ts): in the
 * cluster's region, uniform access, public access prevented, versioned, Google-managed
 * encryption at rest; a lifecycle rule deletes snapshots after `backups.keepDays` and older
 * versions after a day. The masters' service account is an object creator on it only.
 * `pulumi destroy` leaves it, with the snapshots.
 */
export class GcpBackupBucket extends pulumi.ComponentResource {
  public readonly destination: pulumi.Output<BackupDestination>;

  constructor(name: string, args: GcpBackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:gcp:BackupBucket", name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };
    const suffix = new random.RandomId(`${name}-suffix`, { byteLength: BUCKET_SUFFIX_BYTES }, parent);
    const bucket = new gcp.storage.Bucket(
      name,
      {
        name: suffix.hex.apply((hex) => backupBucketName(plan.name, hex)),
        location: plan.region,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        lifecycleRules: [
          { action: { type: "Delete" }, condition: { age: plan.config.backups.keepDays, withState: "LIVE" } },
          { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: NONCURRENT_DAYS, withState: "ARCHIVED" } },
        ],
        labels: { [LABEL.cluster]: plan.name },
      },
      // The snapshots outlive the cluster: `pulumi destroy` leaves the bucket (and its objects).
      { ...parent, retainOnDelete: true },
    );
    const writer = new gcp.storage.BucketIAMMember(
      `${name}-writer`,
      { bucket: bucket.name, role: "roles/storage.objectCreator", member: pulumi.interpolate`serviceAccount:${args.writerEmail}` },
      parent,
    );
    // Known once the masters may write there: their first snapshot comes after.
    this.destination = pulumi.all([bucket.name, writer.id]).apply(([b]): BackupDestination => ({ kind: "gcs", bucket: b }));
    this.registerOutputs({ destination: this.destination });
  }
}
