import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as random from "@pulumi/random";
import { ClusterPlan } from "../plan/cluster-plan";
import { awsBackupWritePolicy, BackupDestination, backupBucketName, BUCKET_SUFFIX_BYTES, NONCURRENT_DAYS } from "../plan/backups";
import { tags } from "./vm";

export interface AwsBackupBucketArgs {
  plan: ClusterPlan;
  /** The masters' IAM role: it may put objects under the cluster's prefix, nothing else. */
  writerRole: pulumi.Input<string>;
}

/**
 * The S3 bucket of the cluster's etcd snapshots (plan/backups.ts): versioned, encrypted at
 * rest (SSE-S3), every public access blocked, owner-enforced objects; a lifecycle rule
 * expires snapshots after `backups.keepDays` and older versions after a day. The masters'
 * role may only put objects under `<cluster>/`.
 */
export class AwsBackupBucket extends pulumi.ComponentResource {
  public readonly destination: pulumi.Output<BackupDestination>;

  constructor(name: string, args: AwsBackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:aws:BackupBucket", name, {}, opts);
    const { plan } = args;
    const parent = { parent: this };
    const suffix = new random.RandomId(`${name}-suffix`, { byteLength: BUCKET_SUFFIX_BYTES }, parent);
    // The snapshots outlive the cluster: `pulumi destroy` leaves the bucket (and its objects).
    const bucket = new aws.s3.Bucket(
      name,
      { bucket: suffix.hex.apply((hex) => backupBucketName(plan.name, hex)), tags: tags(plan.name, name) },
      { ...parent, retainOnDelete: true },
    );
    const on = { bucket: bucket.id };
    new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { ...on, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      parent,
    );
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { ...on, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent);
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, { ...on, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, parent);
    const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { ...on, versioningConfiguration: { status: "Enabled" } }, parent);
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        ...on,
        rules: [
          {
            id: "snapshots",
            status: "Enabled",
            filter: { prefix: `${plan.name}/` },
            expiration: { days: plan.config.backups.keepDays },
            noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_DAYS },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
        ],
      },
      { ...parent, dependsOn: [versioning] },
    );
    const writer = new aws.iam.RolePolicy(`${name}-writer`, { role: args.writerRole, policy: bucket.arn.apply((arn) => awsBackupWritePolicy(arn, plan.name)) }, parent);
    // Known once the masters may write there: their first snapshot comes after.
    this.destination = pulumi.all([bucket.id, writer.id]).apply(([b]): BackupDestination => ({ kind: "s3", bucket: b, region: plan.region, credentials: "instance-role" }));
    this.registerOutputs({ destination: this.destination });
  }
}
