// GCP's resources in the render: its naming rules, boot configs in instances' and instance
// templates' metadata, and what GCP answers the mock runtime (ids, self links, e-mails).
import { GCP_NAME_PREFIX_MAX } from "../../components/config/platforms/gcp";
import { GCP_TYPES } from "../../components/plan/platforms/gcp-resources";
import { digest, randomFromSeed } from "../seeded";
import { isSecret, plain } from "../wire";
import type { RenderPlatform } from "./platform";

const GCP_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** The project the mock's self links and service-account e-mails name. */
const MOCK_GCP_PROJECT = "mock-project";

const selfLink = (kind: string, scope: string, name: string) => `https://www.googleapis.com/compute/v1/projects/${MOCK_GCP_PROJECT}/${scope}/${kind}/${name}`;

export const gcpRender: RenderPlatform = {
  nameProblems(r) {
    // Record sets are named by DNS names, not by GCP's resource-name rules.
    if (!r.type.startsWith("gcp:") || r.type === "gcp:dns/recordSet:RecordSet") return [];
    const problems: string[] = [];
    const name = plain(r.rawInputs.name);
    if (typeof name === "string" && (!GCP_NAME.test(name) || name.length > 63)) {
      problems.push(
        `${r.urn}: GCP name ${JSON.stringify(name)} breaks GCP naming rules (lower-case letters, digits and '-', starting with a letter, at most 63 characters); shorten kubeadm-ha:clusterName or the pool name`,
      );
    }
    const prefix = plain(r.rawInputs.namePrefix);
    if (typeof prefix === "string" && (!/^[a-z]([-a-z0-9]*)$/.test(prefix) || prefix.length > GCP_NAME_PREFIX_MAX)) {
      problems.push(
        `${r.urn}: GCP name prefix ${JSON.stringify(prefix)} must be at most ${GCP_NAME_PREFIX_MAX} characters of lower-case letters, digits and '-'; shorten the cluster or pool name`,
      );
    }
    const accountId = plain(r.rawInputs.accountId);
    if (typeof accountId === "string" && !/^[a-z]([-a-z0-9]{4,28}[a-z0-9])$/.test(accountId)) {
      problems.push(`${r.urn}: service account id ${JSON.stringify(accountId)} must be 6-30 characters of lower-case letters, digits and '-'; shorten kubeadm-ha:clusterName`);
    }
    return problems;
  },
  bootConfig(r) {
    if (r.type !== GCP_TYPES.instance && r.type !== GCP_TYPES.template) return undefined;
    const machine = r.type === GCP_TYPES.instance ? String(plain(r.rawInputs.name)) : String(plain(r.rawInputs.namePrefix)).replace(/-$/, "");
    const metadata = r.rawInputs.metadata;
    const userData = isSecret(metadata) ? undefined : (metadata as Record<string, unknown> | undefined)?.["user-data"];
    if (userData === undefined) return undefined;
    return { machine, text: plain(userData), secret: isSecret(userData) };
  },
  mockResource(type, name, inputs) {
    if (!type.startsWith("gcp:")) return undefined;
    const n: string = inputs.name ?? name;
    const scope = inputs.zone ? `zones/${inputs.zone}` : inputs.region ? `regions/${inputs.region}` : "global";
    const id = `${n}-id`;
    switch (type) {
      case GCP_TYPES.instance: {
        const nics = (inputs.networkInterfaces ?? []).map((nic: any, i: number) => ({
          ...nic,
          accessConfigs: (nic.accessConfigs ?? []).map((ac: any) => ({ ...ac, natIp: ac.natIp ?? `203.0.113.${10 + i}` })),
        }));
        return {
          id,
          state: { ...inputs, instanceId: String(parseInt(digest(n).toString("hex").slice(0, 12), 16)), selfLink: selfLink("instances", scope, n), networkInterfaces: nics },
        };
      }
      case GCP_TYPES.template: {
        const tn = inputs.name ?? `${inputs.namePrefix ?? name}${randomFromSeed(name, 26, "0123456789")}`;
        return {
          id: tn,
          state: { ...inputs, name: tn, selfLink: selfLink("instanceTemplates", "global", tn), selfLinkUnique: `${selfLink("instanceTemplates", "global", tn)}?uniqueId=1` },
        };
      }
      case "gcp:compute/instanceGroupManager:InstanceGroupManager":
        return { id, state: { ...inputs, selfLink: selfLink("instanceGroupManagers", scope, n), instanceGroup: selfLink("instanceGroups", scope, n) } };
      case "gcp:serviceaccount/account:Account":
        return { id, state: { ...inputs, email: `${inputs.accountId}@${MOCK_GCP_PROJECT}.iam.gserviceaccount.com` } };
      default:
        return { id, state: { ...inputs, selfLink: type.startsWith("gcp:compute") ? selfLink(type.split(":")[2].toLowerCase() + "s", scope, n) : undefined } };
    }
  },
  // The program asks GCP nothing at run time.
  mockInvoke: () => undefined,
};
