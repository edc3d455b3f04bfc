// GCP as the policy pack reads it: labelled instances and instance templates (boot data in
// their metadata), firewall rules, the regional health check under the apiservers' load
// balancer, and the Shielded VM rule. GCP encrypts every persistent disk and cannot turn it off.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { GCP_TYPES } from "../../components/plan/platforms/gcp-resources";
import { isWorld, num, PolicyPlatform, Props, strings } from "./platform";

const isMachine = (type: string) => type === GCP_TYPES.instance || type === GCP_TYPES.template;

/** Port ranges of one GCP allow entry: no ports means every port. */
function allowedRanges(allow: { protocol?: string; ports?: string[] }): Array<[number, number]> {
  if (!["tcp", "all"].includes(String(allow.protocol ?? "").toLowerCase())) return [];
  if (!allow.ports?.length) return [[0, 65535]];
  return allow.ports.map((p) => {
    const [a, b] = String(p).split("-").map(Number);
    return [a, b ?? a];
  });
}

export const gcpShieldedVm: ResourceValidationPolicy = {
  name: "gcp-shielded-vm",
  description: "GCP machines boot as Shielded VMs: Secure Boot, vTPM and integrity monitoring on.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (!isMachine(args.type)) return;
    const s = args.props.shieldedInstanceConfig ?? {};
    const off = ["enableSecureBoot", "enableVtpm", "enableIntegrityMonitoring"].filter((k) => s[k] !== true);
    if (off.length) report(`${args.name}: shieldedInstanceConfig.${off.join(", ")} must be true (Shielded VM).`);
  },
};

export const gcpPolicy: PolicyPlatform = {
  machine({ type, props }) {
    if (!isMachine(type)) return undefined;
    const template = type === GCP_TYPES.template;
    return {
      template,
      labels: props.labels ?? {},
      zone: template ? undefined : props.zone,
      bootDataName: template ? "metadata" : "instance metadata",
      bootTexts: strings([props.metadata, props.metadataStartupScript]),
    };
  },
  apiserverHealthCheck(r) {
    if (!(GCP_TYPES.healthChecks as readonly string[]).includes(r.type) || r.parent?.type !== GCP_TYPES.apiserverLb) return undefined;
    const kind = ["httpsHealthCheck", "http2HealthCheck", "httpHealthCheck", "tcpHealthCheck", "sslHealthCheck", "grpcHealthCheck"].find((k) => r.props[k]);
    const hc = kind ? r.props[kind] : {};
    return { port: num(hc.port), protocol: kind?.replace(/HealthCheck$/, "").toUpperCase(), path: hc.requestPath };
  },
  worldOpenRanges(type, props: Props) {
    if (type !== GCP_TYPES.firewall || (props.direction ?? "INGRESS") !== "INGRESS" || props.disabled || !isWorld(props.sourceRanges)) return [];
    return (props.allows ?? []).flatMap(allowedRanges);
  },
  plainDisks: () => [],
  policies: [gcpShieldedVm],
};
