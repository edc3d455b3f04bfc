// What a render writes to its folder (the public contract reviewers and CI read):
// resources.json, outputs.json, files/<machine>/<path>, topology.dot, topology.svg and
// order.txt. The render CLI and the render cache both write through here.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "fs";
import { dirname, join } from "path";
import { RenderResult } from "./render";
import { drawSvg } from "./topology";

/** Writes `result` to `dir` (emptied first); each machine file with its mode exactly. */
export function writeRender(dir: string, result: RenderResult): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "files"), { recursive: true });
  writeFileSync(join(dir, "resources.json"), JSON.stringify(result.resources, null, 2) + "\n");
  writeFileSync(join(dir, "outputs.json"), JSON.stringify(result.outputs, null, 2) + "\n");
  for (const f of result.files) {
    const p = join(dir, "files", f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
    // (Not the mode argument of writeFileSync: the umask would take bits away.)
    chmodSync(p, parseInt(f.mode, 8));
  }
  writeFileSync(join(dir, "topology.dot"), result.topology);
  writeFileSync(join(dir, "topology.svg"), drawSvg(result.topology));
  writeFileSync(join(dir, "order.txt"), result.order);
}
