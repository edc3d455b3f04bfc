// Every file under a folder, by Node's recursive readdir: the render's files/, a render
// cache entry's inputs, the engine's backend, the lab's renders.
import { existsSync, readdirSync } from "fs";
import { join, relative } from "path";

/** Every regular file under `dir`, as paths relative to it, sorted; none when `dir` is absent. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}
