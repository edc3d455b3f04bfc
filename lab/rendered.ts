// The lab runs the files the program renders for stacks/Pulumi.onprem-vip.yaml, with
// only the addresses moved into the lab's range (and the check script's path moved
// into the lab's directory, since every namespace shares one filesystem).
import { join } from "path";
import { renderStack, RenderResult } from "../render/render";
import { ENDPOINT_PATHS } from "../components/plan/onprem-endpoint";

export const ONPREM_STACK = "onprem-vip";
/** The onprem layout's addresses (10.103.97.x) and the lab's. */
export const ONPREM_NET = "10.103.97";

export interface RenderedVipFiles {
  /** By master index: haproxy.cfg, keepalived.conf (addresses mapped), and the check script. */
  masters: Array<{ name: string; octet: number; haproxy: string; keepalived: (checkPath: string) => string }>;
  check: string;
  vipOctet: number;
}

let render: Promise<RenderResult> | undefined;

/** The onprem-vip render, once per process (the SDK keeps one runtime per process). */
export function renderedOnprem(): Promise<RenderResult> {
  render ??= renderStack(join(__dirname, ".."), ONPREM_STACK);
  return render;
}

let cached: Promise<RenderedVipFiles> | undefined;

/** The masters' endpoint files of the onprem-vip render, mapped to `labNet`. */
export function renderedVipFiles(labNet: string): Promise<RenderedVipFiles> {
  cached ??= renderedOnprem().then((r) => {
    const file = (machine: string, path: string) => {
      const f = r.files.find((x) => x.path === `${machine}${path}`);
      if (!f) throw new Error(`the ${ONPREM_STACK} render has no ${machine}${path}`);
      return f.content;
    };
    const map = (text: string) => text.split(`${ONPREM_NET}.`).join(`${labNet}.`);
    const masters = (r.outputs.masters as Array<{ name: string; address: string }>).map((m) => ({
      name: m.name,
      octet: Number(m.address.split(".")[3]),
      haproxy: map(file(m.name, ENDPOINT_PATHS.haproxy)),
      keepalived: (checkPath: string) => map(file(m.name, ENDPOINT_PATHS.keepalived)).split(ENDPOINT_PATHS.check).join(checkPath),
    }));
    const vip = (r.outputs.endpointAddresses as string[])[0];
    return { masters, check: file(masters[0].name, ENDPOINT_PATHS.check), vipOctet: Number(vip.split(".")[3]) };
  });
  return cached;
}
