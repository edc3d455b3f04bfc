// Runs the policy pack over an offline render (render/render.ts) instead of a live
// `pulumi preview`: each rendered resource becomes what the Pulumi engine hands a
// policy (inputs as props; a component's registered outputs as its props, as in stack
// analysis). The tests and `npm run policy` use it; it needs no credentials.
import type {
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { RenderedResource } from "../render/render";

export interface Violation {
  policy: string;
  message: string;
  urn: string;
}

type AnyPolicy = ResourceValidationPolicy | StackValidationPolicy;

function notApplicable(reason?: string): never {
  throw new NotApplicable(reason);
}
class NotApplicable extends Error {}

/** The rendered resources as the engine's stack-analysis resources, parents and dependencies linked. */
export function asPolicyResources(rendered: RenderedResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  for (const r of rendered) {
    const opts: PolicyResourceOptions = {
      protect: !!r.options.protect,
      ignoreChanges: r.options.ignoreChanges ?? [],
      deleteBeforeReplace: r.options.deleteBeforeReplace,
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: r.options.additionalSecretOutputs ?? [],
      parent: r.parent ?? undefined,
    };
    const props = (r.outputs ?? r.inputs ?? {}) as Record<string, any>;
    byUrn.set(r.urn, {
      type: r.type,
      name: r.name,
      urn: r.urn,
      props,
      opts,
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    } as unknown as PolicyResource);
  }
  for (const r of rendered) {
    const pr = byUrn.get(r.urn)!;
    pr.parent = r.parent ? byUrn.get(r.parent) : undefined;
    pr.dependencies = r.dependencies.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => !!d);
  }
  return [...byUrn.values()];
}

/** Runs `policies` over the rendered resources; every violation they report. */
export async function runPolicies(rendered: RenderedResource[], policies: AnyPolicy[]): Promise<Violation[]> {
  const resources = asPolicyResources(rendered);
  const violations: Violation[] = [];
  const common = { stackTags: new Map<string, string>(), getConfig: () => ({}), notApplicable };
  const guarded = async (f: () => void | Promise<void>) => {
    try {
      await f();
    } catch (e) {
      if (!(e instanceof NotApplicable)) throw e;
    }
  };
  for (const p of policies) {
    const report =
      (urn?: string): ReportViolation =>
      (message: string, at?: string) =>
        violations.push({ policy: p.name, message, urn: at ?? urn ?? "" });
    if ("validateStack" in p) {
      await guarded(() => p.validateStack({ ...common, resources } as unknown as StackValidationArgs, report()));
      continue;
    }
    for (const v of [p.validateResource ?? []].flat()) {
      for (const r of resources) {
        const args = {
          ...common,
          type: r.type,
          props: r.props,
          urn: r.urn,
          name: r.name,
          opts: r.opts,
          isType: () => false,
          asType: () => undefined,
        } as unknown as ResourceValidationArgs;
        await guarded(() => v(args, report(r.urn)));
      }
    }
  }
  return violations;
}
