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
    return {
      error: String((e as Error).message ?? e)
        .split("\n")[0]
        .replace(/^invocation of \S+ returned an error: /, ""),
    };
  }
}

export async function federationMain(all: Record<string, string>) {
  const config = await orConfigError(() => validateFederationConfig(fromRawConfig(all), pulumi.getStack()));
  // Every member is read (an invoke: nothing is registered, and a stack the backend does not
  // have is an answer, not a failed deployment) and checked before anything else.
  const members: MemberInfo[] = await orConfigError(async () => {
    const stacks = config.members.map((m) => m.stack);
    const read = await Promise.all(stacks.map(readMember));
    const exports = read.map((r) => ("outputs" in r ? (r.outputs.federation as MemberExport | string | undefined) : undefined));
    const key = (i: number) => `${NAMESPACE}:members[${i}].stack`;
    const unreadable = read.flatMap((r, i) =>
      "error" in r
        ? [
            {
              key: key(i),
              message: `stack ${JSON.stringify(stacks[i])} cannot be read from this backend (${r.error})`,
              fix: `deploy that cluster first (pulumi up --stack ${stacks[i]}), or name an existing stack of this backend (org/project/stack for another project)`,
            },
          ]
        : [],
    );
    // A federation's own `federation` output is its name (a string); a cluster's is an object.
    const wrongKind = memberKindProblems(stacks, (s) => (typeof exports[stacks.indexOf(s)] === "string" ? { layout: "federation" } : { layout: "unknown" }));
    const missing = read.flatMap((r, i) =>
      "outputs" in r && exports[i] === undefined
        ? [
            {
              key: key(i),
              message: `stack ${JSON.stringify(stacks[i])} has no 'federation' output: it is not a deployed GCP or AWS cluster of this project`,
              fix: "name a deployed GCP or AWS cluster stack of this project (org/project/stack for another project)",
            },
          ]
        : [],
    );
    // In the order of the members.
    const index = (p: { key: string }) => Number(/\[(\d+)\]/.exec(p.key)?.[1] ?? 0);
    const problems = [...unreadable, ...wrongKind, ...missing].sort((a, b) => index(a) - index(b));
    if (problems.length) throw new ConfigError(problems);
    return stacks.map((stack, i) => ({ stack, export: exports[i] as MemberExport }));
  });
  // The members' kubeconfigs (secrets), through StackReferences, once every member is known good.
  const refs = config.members.map((m) => ({
    stack: m.stack,
    ref: new pulumi.StackReference(`${config.federationName}-member-${m.stack.replace(/[^A-Za-z0-9-]/g, "-")}`, { name: m.stack }),
  }));
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
