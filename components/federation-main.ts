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

/**
 * A member's outputs as the backend holds them, or why it cannot be read. The engine's builtin
 * provider answers `readStackOutputs` (what a StackReference reads), as an invoke.
 */
async function readMember(stack: string): Promise<{ outputs: Record<string, unknown> } | { error: string }> {
  try {
    const r = (await pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", { name: stack })) as { outputs?: Record<string, unknown> } | undefined;
    return { outputs: r?.outputs ?? {} };
  } catch (e) {
    return { error: String((e as Error).message ?? e).split("\n")[0].replace(/^invocation of \S+ returned an error: /, "") };
  }
}

export async function federationMain(all: Record<string, string>) {
  const config = await orConfigError(() => validateFederationConfig(fromRawConfig(all), pulumi.getStack()));
  // Every member is read (an invoke: nothing is registered, and a stack the backend does not
  // have is an answer, not a failed deployment) and checked before anything else.
  const members: MemberInfo[] = await orConfigError(async () => {
    const read = await Promise.all(config.members.map((m) => readMember(m.stack)));
    const exportOf = (i: number) => ("outputs" in read[i] ? (read[i] as { outputs: Record<string, unknown> }).outputs.federation : undefined) as MemberExport | string | undefined;
    const unreadable = read.flatMap((r, i) =>
      "error" in r
        ? [{ key: `${NAMESPACE}:members[${i}].stack`, message: `stack ${JSON.stringify(config.members[i].stack)} cannot be read from this backend (${r.error})`, fix: `deploy that cluster first (pulumi up --stack ${config.members[i].stack}), or name an existing stack of this backend (org/project/stack for another project)` }]
        : [],
    );
    // A federation's own `federation` output is its name (a string); a cluster's is an object.
    const readable = config.members.map((m, i) => ({ stack: m.stack, i })).filter(({ i }) => "outputs" in read[i]);
    const wrongKind = memberKindProblems(config.members.map((m) => m.stack), (s) => {
      const at = readable.find((r) => r.stack === s);
      return at && typeof exportOf(at.i) === "string" ? { layout: "federation" } : { layout: "unknown" };
    });
    const missing = readable
      .filter(({ i }) => exportOf(i) === undefined)
      .map(({ stack, i }) => ({ key: `${NAMESPACE}:members[${i}].stack`, message: `stack ${JSON.stringify(stack)} has no 'federation' output: it is not a deployed GCP or AWS cluster of this project`, fix: "name a deployed GCP or AWS cluster stack of this project (org/project/stack for another project)" }));
    // In the order of the members.
    const index = (p: { key: string }) => Number(/\[(\d+)\]/.exec(p.key)?.[1] ?? 0);
    const problems = [...unreadable, ...wrongKind, ...missing].sort((a, b) => index(a) - index(b));
    if (problems.length) throw new ConfigError(problems);
    return config.members.map((m, i) => ({ stack: m.stack, export: exportOf(i) as MemberExport }));
  });
  // The members' kubeconfigs (secrets), through StackReferences, once every member is known good.
  const refs = config.members.map((m) => ({ stack: m.stack, ref: new pulumi.StackReference(`${config.federationName}-member-${m.stack.replace(/[^A-Za-z0-9-]/g, "-")}`, { name: m.stack }) }));
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
