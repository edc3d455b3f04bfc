// Files taken from the build machine's Debian packages into an image layer: programs
// with the shared-library closure `ldd` reports (and the dynamic loader), each path
// copied with the symlinks that lead to it, exactly as the host lays them out (Debian's
// merged /usr: /lib -> usr/lib, /lib64 -> usr/lib64). The Debian package of every file
// and its version are recorded, for the image's labels.
import { spawnSync } from "child_process";
import { existsSync, lstatSync, readFileSync, readlinkSync } from "fs";
import { posix } from "path";
import { TarEntry } from "./tar";

export class HostFilesError extends Error {}

/**
 * Adds `abs` (an absolute host path) to `acc`: every symlink met on the way as a symlink
 * entry with the host's target, the folders with their host modes, and the file itself.
 */
export function addHostPath(abs: string, acc: Map<string, TarEntry>, depth = 0): void {
  if (depth > 40) throw new HostFilesError(`too many symlinks resolving ${abs}`);
  const parts = abs.split("/").filter(Boolean);
  let cur = "";
  for (let i = 0; i < parts.length; i++) {
    const next = `${cur}/${parts[i]}`;
    let st;
    try {
      st = lstatSync(next);
    } catch {
      throw new HostFilesError(`${next} does not exist on this machine`);
    }
    const rel = next.slice(1);
    if (st.isSymbolicLink()) {
      const target = readlinkSync(next);
      acc.set(rel, { path: rel, type: "symlink", mode: 0o777, linkname: target });
      const resolved = target.startsWith("/") ? target : posix.join(cur || "/", target);
      const rest = parts.slice(i + 1).join("/");
      return addHostPath(rest ? posix.join(resolved, rest) : resolved, acc, depth + 1);
    }
    if (st.isDirectory()) {
      if (!acc.has(rel)) acc.set(rel, { path: rel, type: "dir", mode: st.mode & 0o7777 });
    } else if (st.isFile() && i === parts.length - 1) {
      acc.set(rel, { path: rel, type: "file", mode: st.mode & 0o7777, data: readFileSync(next) });
    } else {
      throw new HostFilesError(`${next} is neither a file, a folder nor a symlink`);
    }
    cur = next;
  }
}

/** The shared libraries and the loader `ldd` lists for a dynamically linked program or library. */
export function parseLdd(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("linux-vdso") || t.startsWith("linux-gate")) continue;
    const arrow = /=>\s*(\/\S+)/.exec(t);
    if (arrow) out.push(arrow[1]);
    else if (/^\/\S+\s+\(0x/.test(t)) out.push(t.split(/\s+/)[0]);
    else if (/=>\s*not found/.test(t)) throw new HostFilesError(`a shared library is missing on this machine: ${t}`);
  }
  return out;
}

/** Every library (and the loader) the files need, by `ldd`. */
export function lddClosure(files: string[]): string[] {
  const libs = new Set<string>();
  for (const f of files) {
    const r = spawnSync("ldd", [f], { encoding: "utf8" });
    if (r.error) throw new HostFilesError(`ldd could not be run (${r.error.message}): install libc-bin`);
    if (r.status !== 0) throw new HostFilesError(`ldd ${f} failed: ${(r.stderr || r.stdout).trim()}`);
    for (const l of parseLdd(r.stdout)) libs.add(l);
  }
  return [...libs].sort();
}

/** `dpkg -S` output → package of each path (arch qualifiers dropped). */
export function parseDpkgSearch(output: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of output.split("\n")) {
    if (!line || line.startsWith("diversion ")) continue;
    const m = /^(.+?): (\/.*)$/.exec(line);
    if (!m) continue;
    out.set(
      m[2],
      m[1].split(",").map((p) => p.trim().replace(/:[a-z0-9-]+$/, "")),
    );
  }
  return out;
}

/** The Debian packages (and their versions) that own the paths; a path dpkg knows under another alias of merged /usr counts too. */
export function debianPackagesOf(paths: string[]): Record<string, string> {
  const variants = new Set<string>();
  for (const p of paths) {
    variants.add(p);
    if (p.startsWith("/usr/")) variants.add(p.slice(4));
    else variants.add(`/usr${p}`);
  }
  const r = spawnSync("dpkg", ["-S", ...variants], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw new HostFilesError(`dpkg could not be run (${r.error.message}): the images take programs from Debian packages, so build the bundle on Debian or Ubuntu`);
  const owners = parseDpkgSearch(r.stdout);
  const pkgs = new Set<string>();
  for (const list of owners.values()) for (const p of list) pkgs.add(p);
  if (!pkgs.size) return {};
  const q = spawnSync("dpkg-query", ["-W", "-f", "${Package}\\t${Version}\\n", ...pkgs], { encoding: "utf8" });
  const versions: Record<string, string> = {};
  for (const line of q.stdout.split("\n")) {
    const [name, version] = line.split("\t");
    if (name && version) versions[name] = version;
  }
  return Object.fromEntries(Object.entries(versions).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Files of an installed Debian package (`dpkg -L`), or a clear error naming the package to install. */
export function debianPackageFiles(pkg: string, why: string): string[] {
  const r = spawnSync("dpkg", ["-L", pkg], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new HostFilesError(`${why} needs the Debian package ${pkg} on this machine: apt-get install ${pkg} (setup.sh lists it)`);
  return r.stdout.split("\n").filter(Boolean);
}

export const hostHas = (p: string) => existsSync(p);
