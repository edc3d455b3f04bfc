// The order `pulumi up` works through a stack's resources in, from the dependencies the
// render recorded: waves, each resource in the first wave after everything it waits for.
// Written as order.txt so a reviewer sees, before anything happens, that the masters take
// turns (master-1's VM and steps after master-0 is healthy again) and what waits for what.
import type { RenderedResource } from "./render";

const isComponent = (r: RenderedResource) => r.type.startsWith("kubeadm-ha:") || r.type.startsWith("pulumi:");

/** The resources (not components) `r` waits for: waiting for a component is waiting for everything under it. */
function directWaits(r: RenderedResource, resources: RenderedResource[]): string[] {
  const out = new Set<string>();
  const add = (urn: string) => {
    const d = resources.find((x) => x.urn === urn);
    if (!d) return;
    if (isComponent(d)) for (const c of resources.filter((x) => x.parent === urn)) add(c.urn);
    else if (d.urn !== r.urn) out.add(d.urn);
  };
  r.dependencies.forEach(add);
  return [...out];
}

/** Waves of the stack's resources (components left out: they do nothing themselves), each in registration order. */
export function waves(resources: RenderedResource[]): RenderedResource[][] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const wave = new Map<string, number>();
  const visiting = new Set<string>();
  const waveOf = (r: RenderedResource): number => {
    const known = wave.get(r.urn);
    if (known !== undefined) return known;
    if (visiting.has(r.urn)) throw new Error(`dependency cycle through ${r.name}`);
    visiting.add(r.urn);
    const w = 1 + Math.max(0, ...directWaits(r, resources).map((d) => waveOf(byUrn.get(d)!)));
    visiting.delete(r.urn);
    wave.set(r.urn, w);
    return w;
  };
  const out: RenderedResource[][] = [];
  for (const r of resources.filter((x) => !isComponent(x))) (out[waveOf(r) - 1] ??= []).push(r);
  return out.filter((w) => w !== undefined);
}

/** order.txt: the waves, one resource a line with its type and what it waits for (what others it waits for already imply left out). */
export function orderText(stack: string, resources: RenderedResource[]): string {
  const order = waves(resources);
  const direct = new Map(order.flat().map((r) => [r.urn, directWaits(r, resources)]));
  const before = new Map<string, Set<string>>();
  const ancestors = (urn: string): Set<string> => {
    let set = before.get(urn);
    if (!set) {
      set = new Set<string>();
      for (const d of direct.get(urn) ?? []) {
        set.add(d);
        for (const a of ancestors(d)) set.add(a);
      }
      before.set(urn, set);
    }
    return set;
  };
  const names = new Map(resources.map((r) => [r.urn, r.name]));
  const width = Math.max(...resources.map((r) => r.name.length));
  const lines = [
    `# ${stack}: the order \`pulumi up\` works in, from each resource's dependencies. A resource`,
    `# starts once everything it waits for is done; each wave holds the resources whose last`,
    `# wait ends in the wave before ("after" names the waits that others do not already imply).`,
    `# Masters take turns: a master's VM and steps wait for the previous master's \`healthy\``,
    `# step, so a change that restarts or replaces masters reaches them one at a time.`,
  ];
  order.forEach((w, i) => {
    lines.push("", `wave ${i + 1}`);
    for (const r of w) {
      const waits = [...(direct.get(r.urn) ?? [])];
      const last = waits.filter((d) => !waits.some((e) => e !== d && ancestors(e).has(d))).map((d) => names.get(d) ?? d);
      lines.push(`  ${r.name.padEnd(width)}  ${r.type}${last.length ? `  after ${last.join(", ")}` : ""}`);
    }
  });
  return lines.join("\n") + "\n";
}
