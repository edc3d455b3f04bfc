// `pulumi up` of a federation stack: members (StackReferences) -> validated config ->
// pure plan -> services, load balancers and DNS.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, fromRawConfig } from "./config/validate";
import { memberKindProblems, validateFederationConfig } from "./config/federation";
import { NAMESPACE } from "./config/schema";
import { MemberInfo, planFederation } from "./plan/federation-plan";
import { MemberExport } from "./plan/member";
import { Federation } from "./federation/federation";
import { orConfigError } from "./run-error";

const valueOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

export async function federationMain(all: Record<string, string>) {
  const config = await orConfigError(() => validateFederationConfig(fromRawConfig(all), pulumi.getStack()));
  const refs = config.members.map((m) => ({ stack: m.stack, ref: new pulumi.StackReference(`${config.federationName}-member-${m.stack.replace(/[^A-Za-z0-9-]/g, "-")}`, { name: m.stack }) }));
  // The members' exports are read (not created) before anything else is registered.
  const members: MemberInfo[] = await orConfigError(async () => {
    const exports = await Promise.all(refs.map((r) => valueOf(r.ref.getOutput("federation") as pulumi.Output<MemberExport | string | undefined>)));
    // A federation's own `federation` output is its name (a string); a cluster's is an object.
    const wrongKind = memberKindProblems(refs.map((r) => r.stack), (s) => (typeof exports[refs.findIndex((r) => r.stack === s)] === "string" ? { layout: "federation" } : { layout: "unknown" }));
    if (wrongKind.length) throw new ConfigError(wrongKind);
    const missing = refs.map((r, i) => ({ r, i })).filter(({ i }) => !exports[i]);
    if (missing.length) {
      throw new ConfigError(
        missing.map(({ r, i }) => ({ key: `${NAMESPACE}:members[${i}].stack`, message: `stack ${JSON.stringify(r.stack)} has no 'federation' output: it is not a deployed GCP or AWS cluster of this project`, fix: "name a deployed GCP or AWS cluster stack of this project (org/project/stack for another project)" })),
      );
    }
    return refs.map((r, i) => ({ stack: r.stack, export: exports[i] as MemberExport }));
  });
  const plan = await orConfigError(() => planFederation(config, members));
  const kubeconfigs = Object.fromEntries(refs.map((r) => [r.stack, pulumi.secret(r.ref.requireOutput("kubeconfig") as pulumi.Output<string>)]));
  const federation = new Federation(config.federationName, { config, plan, kubeconfigs });
  return {
    federation: config.federationName,
    /** Members: stack, cluster, cloud, region. */
    members: members.map((m) => ({ stack: m.stack, cluster: m.export.cluster, cloud: m.export.cloud, region: m.export.region })),
    /** DNS names per level, with the members behind each. */
    dnsNames: plan.records.map((r) => ({ name: r.name, level: r.level, members: r.targets.map((t) => t.member) })),
    /** Public addresses of each service copy. */
    endpoints: Object.fromEntries(Object.entries(federation.endpoints).map(([k, e]) => [k, e.addresses])),
    aliases: plan.aliases.map((a) => ({ name: a.name, target: a.target })),
  };
}
