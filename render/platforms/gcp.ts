// GCP's resources in the render: its naming rules, and boot configs in instances' and
// instance templates' metadata.
import { GCP_NAME_PREFIX_MAX } from "../../components/config/platforms/gcp";
import { isSecret, plain } from "../wire";
import type { RenderPlatform } from "./platform";

const GCP_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const INSTANCE = "gcp:compute/instance:Instance";
const TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate";

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
    if (r.type !== INSTANCE && r.type !== TEMPLATE) return undefined;
    const machine = r.type === INSTANCE ? String(plain(r.rawInputs.name)) : String(plain(r.rawInputs.namePrefix)).replace(/-$/, "");
    const metadata = r.rawInputs.metadata;
    const userData = isSecret(metadata) ? undefined : (metadata as Record<string, unknown> | undefined)?.["user-data"];
    if (userData === undefined) return undefined;
    return { machine, text: plain(userData), secret: isSecret(userData) };
  },
};
