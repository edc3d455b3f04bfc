import * as aws from "@pulumi/aws";
import { ClusterConfig, ConfigError } from "../config/validate";
import { NAMESPACE } from "../config/schema";
import { UBUNTU_AMI_LOOKUP } from "../plan/platforms/aws-resources";

/**
 * Lookups AWS needs before any resource is registered: the zones must exist in the
 * region, and the AMI is the stack's `image` or the newest Canonical Ubuntu 24.04.
 * Returns the AMI id.
 */
export async function awsPreflight(config: ClusterConfig): Promise<string> {
  const azs = await aws.getAvailabilityZones({ state: "available" });
  const missing = config.zones.filter((z) => !azs.names.includes(z));
  if (missing.length) {
    throw new ConfigError(
      missing.map((z) => ({
        key: `${NAMESPACE}:zones[${config.zones.indexOf(z)}]`,
        message: `zone ${JSON.stringify(z)} is not an available zone of ${config.region} (available: ${azs.names.join(", ")})`,
        fix: "use zones that getAvailabilityZones lists for your account",
      })),
    );
  }
  if (config.image) return config.image;
  const ami = await aws.ec2.getAmi(UBUNTU_AMI_LOOKUP);
  return ami.id;
}
