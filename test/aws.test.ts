// The AWS three-AZ stack on the SDK's mock runtime: the shared cluster facts, then
// what is AWS's own (IMDSv2, encrypted volumes, NLB, security groups, NAT, Route 53, ASGs).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { bootConfigOf, commandOf, file, inputs, named, ofType, pulumiTypeOf, renderOnce, renderVariant } from "./helpers";
import { RenderedResource, RenderResult, SECRET } from "../render/render";
import { clusterFacts } from "./cluster-facts";
import { AWS_TYPES } from "../components/plan/platforms/aws-resources";

clusterFacts("aws-three-az");

let r: RenderResult;
before(async () => {
  r = await renderOnce("aws-three-az");
});

const masters = () => ofType(r, "aws:ec2/instance:Instance").filter((x) => inputs(x).tags["kubeadm-ha/role"] === "master");
const sgId = (role: string) => ofType(r, "aws:ec2/securityGroup:SecurityGroup").find((x) => x.name === `prod-aws-${role}`)!.urn;
const rulesTo = (role: string) =>
  ofType(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((x) => x.dependencies.includes(sgId(role)) && x.name.includes(`-${role}-from-`));

/** The AWS stack with `change` applied to its file, rendered. */
const awsVariant = (change: (text: string) => string) => renderVariant("aws-three-az", "aws-variant", change);

test("masters require IMDSv2 with one hop, boot from encrypted volumes and have no public address", () => {
  assert.equal(masters().length, 3);
  for (const m of masters()) {
    const i = inputs(m);
    assert.equal(i.metadataOptions.httpTokens, "required");
    assert.equal(i.metadataOptions.httpPutResponseHopLimit, 1);
    assert.equal(i.rootBlockDevice.encrypted, true);
    assert.equal(i.associatePublicIpAddress, undefined);
    assert.ok(i.iamInstanceProfile, "instance profile");
    assert.deepEqual(m.options.ignoreChanges, ["ami"], "a newer AMI must not replace a master");
  }
});

test("each master's address lives on its own network interface in its zone's private subnet", () => {
  const outs = r.outputs.masters as Array<{ name: string; zone: string; address: string }>;
  for (const m of outs) {
    const eni = named(r, `${m.name}-eni`);
    assert.deepEqual(inputs(eni).privateIps, [m.address]);
    const instance = masters().find((x) => x.name === m.name)!;
    assert.ok(instance.dependencies.includes(eni.urn));
    assert.equal(inputs(instance).primaryNetworkInterface.deleteOnTermination, false, "the address must outlive the instance");
    const subnet = r.resources.find((x) => x.type === "aws:ec2/subnet:Subnet" && eni.dependencies.includes(x.urn))!;
    assert.equal(inputs(subnet).availabilityZone, m.zone);
    assert.equal(inputs(subnet).mapPublicIpOnLaunch, false);
  }
});

test("the apiserver NLB is internal, cross-zone, at a fixed address in each zone", () => {
  const [lb] = ofType(r, "aws:lb/loadBalancer:LoadBalancer");
  const i = inputs(lb);
  assert.equal(i.internal, true);
  assert.equal(i.loadBalancerType, "network");
  assert.equal(i.enableCrossZoneLoadBalancing, true);
  assert.deepEqual(
    i.subnetMappings.map((s: { privateIpv4Address: string }) => s.privateIpv4Address),
    r.outputs.endpointAddresses,
  );
  assert.ok(i.name.length <= 32);
  const [listener] = ofType(r, "aws:lb/listener:Listener");
  assert.equal(inputs(listener).port, 6443);
  assert.equal(inputs(listener).protocol, "TCP");
  const attachments = ofType(r, "aws:lb/targetGroupAttachment:TargetGroupAttachment");
  assert.deepEqual(attachments.map((a) => inputs(a).port).sort(), [22, 22, 22, 6443, 6443, 6443]);
});

test("the NLB's SSH listener reaches only masters whose apiserver is ready, from the bastion only", () => {
  const ssh = named(r, "prod-aws-apiserver-ssh-listener");
  assert.deepEqual([inputs(ssh).port, inputs(ssh).protocol], [22, "TCP"]);
  const tg = named(r, "prod-aws-apiserver-ssh-targets");
  assert.equal(inputs(tg).port, 22);
  assert.ok(inputs(tg).name.length <= 32);
  assert.deepEqual([inputs(tg).healthCheck.protocol, inputs(tg).healthCheck.port, inputs(tg).healthCheck.path], ["HTTPS", "6443", "/readyz"]);
  const rules = ofType(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((x) => inputs(x).fromPort === 22);
  const names = rules.map((x) => x.name).sort();
  assert.ok(
    names.some((n) => /ssh-from-lb-master-from-apiserver-lb/.test(n)),
    names.join(", "),
  );
  assert.ok(
    names.some((n) => /lb-ssh-from-bastion-apiserver-lb-from-bastion/.test(n)),
    names.join(", "),
  );
});

test("the target group checks HTTPS /readyz on 6443, marks a dead master down within about 20 s, and does not preserve client IPs", () => {
  const [tg] = ofType(r, "aws:lb/targetGroup:TargetGroup");
  const i = inputs(tg);
  assert.deepEqual([i.protocol, i.port], ["TCP", 6443]);
  assert.equal(i.healthCheck.protocol, "HTTPS");
  assert.equal(i.healthCheck.path, "/readyz");
  assert.equal(i.healthCheck.port, "6443");
  assert.equal(i.healthCheck.interval * i.healthCheck.unhealthyThreshold, 20);
  assert.equal(i.preserveClientIp, "false", "with client IPs preserved a master cannot reach itself through the NLB");
});

test("a private Route 53 zone answers for the endpoint name with an alias to the NLB; workers use it", () => {
  const [zone] = ofType(r, "aws:route53/zone:Zone");
  assert.equal(inputs(zone).name, "prod-aws.internal");
  assert.equal(inputs(zone).vpcs.length, 1);
  const [record] = ofType(r, "aws:route53/record:Record");
  assert.equal(inputs(record).name, "api");
  assert.equal(inputs(record).type, "A");
  assert.equal(inputs(record).aliases.length, 1);
  assert.equal(
    commandOf(bootConfigOf(file(r, "prod-aws-general/cloud-init.yaml")), "/usr/local/sbin/kubeadm-ha-set-endpoint"),
    undefined,
    "workers resolve the name in the private zone",
  );
});

test("security groups: 6443 to masters from the NLB and nodes, etcd between masters only, kubelet from masters, SSH via the bastion", () => {
  const groups = ofType(r, "aws:ec2/securityGroup:SecurityGroup");
  // The source group of a rule is the group it depends on besides its target (or the target itself).
  const sourceOf = (rule: RenderedResource, to: string) => {
    const sgs = groups.filter((g) => rule.dependencies.includes(g.urn)).map((g) => g.name.replace("prod-aws-", ""));
    return sgs.length === 1 ? sgs[0] : sgs.find((g) => g !== to)!;
  };
  const from = (role: string, port: string) =>
    rulesTo(role)
      .filter((x) => inputs(x).fromPort === Number(port.split("-")[0]))
      .map((x) => sourceOf(x, role));
  assert.deepEqual(from("master", "6443").sort(), ["apiserver-lb", "bastion", "master", "worker"]);
  assert.deepEqual(from("master", "2379-2380"), ["master"]);
  assert.equal(inputs(rulesTo("master").find((x) => inputs(x).fromPort === 2379)!).toPort, 2380);
  assert.deepEqual(from("worker", "10250"), ["master"]);
  assert.deepEqual(from("worker", "22"), ["bastion"]);
  assert.deepEqual(
    rulesTo("bastion").map((x) => inputs(x).cidrIpv4),
    ["198.51.100.0/24"],
  );
  for (const x of ofType(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")) assert.notEqual(inputs(x).cidrIpv4, "0.0.0.0/0", x.name);
});

test("a NAT gateway in every zone by default, each private subnet routed through its own zone's", () => {
  const nats = ofType(r, "aws:ec2/natGateway:NatGateway");
  assert.equal(nats.length, 3);
  for (const route of ofType(r, "aws:ec2/route:Route").filter((x) => x.name.includes("-private-"))) {
    const zone = route.name.match(/-private-([a-z])-default$/)![1];
    assert.ok(
      route.dependencies.some((u) => u.endsWith(`::prod-aws-nat-${zone}`)),
      route.name,
    );
  }
});

test("network.natGateways single puts one NAT gateway behind every private subnet", async () => {
  const v = await awsVariant((t) => t.replace("natGateways: one-per-zone", "natGateways: single"));
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.resources.filter((x) => x.type === "aws:ec2/natGateway:NatGateway").length, 1);
  for (const route of v.resources.filter((x) => x.type === "aws:ec2/route:Route" && x.name.includes("-private-")))
    assert.ok(
      route.dependencies.some((u) => u.endsWith("::prod-aws-nat-a")),
      route.name,
    );
});

test("workers: a launch template (IMDSv2, encrypted volume) and an auto scaling group per zone", () => {
  const [lt] = ofType(r, "aws:ec2/launchTemplate:LaunchTemplate");
  const i = inputs(lt);
  assert.equal(i.metadataOptions.httpTokens, "required");
  assert.equal(i.blockDeviceMappings[0].ebs.encrypted, "true");
  const boot = Buffer.from(i.userData, "base64").toString("utf8");
  assert.match(boot, /^#cloud-config\n/);
  assert.doesNotMatch(boot, /PRIVATE KEY/);
  const asgs = ofType(r, "aws:autoscaling/group:Group");
  assert.deepEqual(
    asgs.map((a) => [inputs(a).minSize, inputs(a).maxSize, inputs(a).desiredCapacity]),
    [
      [1, 5, 1],
      [1, 5, 1],
      [1, 5, 1],
    ],
  );
  // Named after the pool's generation (blue-green rolls, worker-roll.test.ts).
  assert.deepEqual(
    asgs.map((a) => inputs(a).name.replace(/-[0-9a-f]{8}$/, "")),
    ["prod-aws-general-a", "prod-aws-general-b", "prod-aws-general-c"],
  );
});

test("the token reaches workers through an SSM SecureString only the workers' role may read", () => {
  const [param] = ofType(r, "aws:ssm/parameter:Parameter");
  assert.equal(inputs(param).type, "SecureString");
  assert.equal(inputs(param).value, SECRET);
  const roles = ofType(r, "aws:iam/rolePolicy:RolePolicy");
  const workers = roles.filter((x) => /worker/.test(x.name));
  assert.equal(workers.length, 1);
  const actions = (x: (typeof roles)[number]) => JSON.parse(inputs(x).policy).Statement.flatMap((s: { Action: string | string[] }) => [s.Action].flat());
  assert.ok(actions(workers[0]).includes("ssm:GetParameter"));
  // The masters' one policy adds etcd snapshots to the backup bucket: nothing that reads the token.
  assert.deepEqual(roles.filter((x) => !/worker/.test(x.name)).map(actions), [["s3:PutObject"]]);
  assert.match(file(r, "prod-aws-general/usr/local/sbin/kubeadm-ha-worker-join"), /ssm_parameter \/kubeadm-ha\/prod-aws\/bootstrap-token/);
  assert.doesNotMatch(file(r, "prod-aws-general/cloud-init.yaml"), /[a-z0-9]{6}\.[a-z0-9]{16}/);
});

test("the AMI is looked up (Canonical Ubuntu 24.04) unless the stack pins one", async () => {
  assert.equal(r.outputs.ami, "ami-0123456789abcdef0");
  for (const m of masters()) assert.equal(inputs(m).ami, "ami-0123456789abcdef0");
  const pinned = await awsVariant((t) => t + "  kubeadm-ha:image: ami-0fedcba9876543210\n");
  assert.equal(pinned.status, 0, pinned.stderr);
  assert.equal(pinned.outputs.ami, "ami-0fedcba9876543210");
  assert.ok(pinned.resources.filter((x) => x.type === "aws:ec2/instance:Instance").every((x) => (x.inputs as { ami: string }).ami === "ami-0fedcba9876543210"));
});

test("a zone the region does not have is refused before anything is registered", async () => {
  const v = await awsVariant((t) => t.replace("- us-east-1c", "- us-east-1z"));
  assert.equal(v.status, 1);
  assert.match(v.stderr, /kubeadm-ha:zones\[2\]: zone "us-east-1z" is not an available zone of us-east-1/);
  assert.doesNotMatch(v.stderr, /resources were registered/);
});

test("etcd snapshots go to a bucket that is versioned, encrypted, private and pruned, which the masters may only add to", () => {
  const [bucket] = ofType(r, "aws:s3/bucket:Bucket");
  assert.match(inputs(bucket).bucket, /^prod-aws-etcd-backups-[0-9a-f]{8}$/);
  assert.equal(bucket.options.retainOnDelete, true, "pulumi destroy leaves the snapshots");
  const on = (type: string) => ofType(r, type).map(inputs);
  assert.deepEqual(
    on("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").map((b) => [b.blockPublicAcls, b.blockPublicPolicy, b.ignorePublicAcls, b.restrictPublicBuckets]),
    [[true, true, true, true]],
  );
  assert.equal(on("aws:s3/bucketVersioning:BucketVersioning")[0].versioningConfiguration.status, "Enabled");
  assert.equal(on("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[0].rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
  const [rule] = on("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0].rules;
  assert.deepEqual([rule.filter.prefix, rule.expiration.days, rule.noncurrentVersionExpiration.noncurrentDays], ["prod-aws/", 7, 1]);
  const policy = JSON.parse(inputs(ofType(r, "aws:iam/rolePolicy:RolePolicy").find((x) => !/worker/.test(x.name))!).policy);
  assert.deepEqual(policy.Statement, [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: [`arn:aws:s3:::${inputs(bucket).bucket}/prod-aws/*`] }]);
  assert.equal((r.outputs.backups as { destination: string }).destination, `s3://${inputs(bucket).bucket}/prod-aws/`);
});

test("the AWS types the render and the policy pack read are the provider's own", async () => {
  const aws = await import("@pulumi/aws");
  const { apiserverLb, ...providers } = AWS_TYPES;
  assert.deepEqual(providers, {
    instance: pulumiTypeOf(aws.ec2.Instance),
    template: pulumiTypeOf(aws.ec2.LaunchTemplate),
    securityGroup: pulumiTypeOf(aws.ec2.SecurityGroup),
    securityGroupRule: pulumiTypeOf(aws.ec2.SecurityGroupRule),
    ingressRule: pulumiTypeOf(aws.vpc.SecurityGroupIngressRule),
    loadBalancer: pulumiTypeOf(aws.lb.LoadBalancer),
    targetGroup: pulumiTypeOf(aws.lb.TargetGroup),
    volume: pulumiTypeOf(aws.ebs.Volume),
  });
  assert.equal(ofType(r, apiserverLb).length, 1, "the apiserver's load balancer is registered under the type the policy pack looks for");
});
