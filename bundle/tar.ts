// A minimal, deterministic tar writer: POSIX ustar headers, with a PAX extended header
// where ustar cannot say it (long paths or link targets, extended attributes such as
// the `security.capability` of a program that binds ports below 1024). Written here
// rather than taken from the npm `tar` package because that package writes entries
// from a file system walk and cannot write extended attributes; image layers need both
// entries made up in memory and file capabilities.
//
// Determinism: every entry has the same mtime (FIXED_MTIME), owner names are left
// empty, and tarArchive() sorts entries by path after adding the missing parent folders,
// so the same inputs always give the same bytes, and so the same digests.

/** The mtime of every entry: the Unix epoch, as reproducible image builds use it. */
export const FIXED_MTIME = 0;

export interface TarEntry {
  /** Path inside the archive, relative (`usr/local/bin/etcd`), folders without a trailing slash. */
  path: string;
  type: "file" | "dir" | "symlink";
  /** Permission bits (e.g. 0o755; 0o1777 for /tmp). */
  mode: number;
  uid?: number;
  gid?: number;
  /** Content of a file. */
  data?: Buffer;
  /** Target of a symlink. */
  linkname?: string;
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records (what GNU tar and containerd read). */
  xattrs?: Record<string, Buffer>;
}

const BLOCK = 512;

/** `security.capability` (VFS_CAP_REVISION_2, effective) granting the capabilities by number, as `setcap caps=+ep` writes it. */
export function fileCapability(caps: number[]): Buffer {
  const b = Buffer.alloc(20);
  let lo = 0;
  let hi = 0;
  for (const c of caps) {
    if (c < 32) lo |= 1 << c;
    else hi |= 1 << (c - 32);
  }
  b.writeUInt32LE(0x02000000 | 0x1, 0); // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
  b.writeUInt32LE(lo >>> 0, 4); // permitted, caps 0..31
  b.writeUInt32LE(0, 8); // inheritable
  b.writeUInt32LE(hi >>> 0, 12); // permitted, caps 32..63
  b.writeUInt32LE(0, 16);
  return b;
}

/** CAP_NET_BIND_SERVICE, as upstream's images set on kube-apiserver and CoreDNS. */
export const CAP_NET_BIND_SERVICE = 10;

function normalize(path: string): string {
  const p = path.replace(/^\.?\/+/, "").replace(/\/+$/, "");
  if (!p || p.split("/").some((s) => s === ".." || s === "." || s === "")) throw new Error(`not a clean relative path for a tar entry: ${JSON.stringify(path)}`);
  return p;
}

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  const s = value.toString(8);
  if (s.length > width - 1) throw new Error(`value ${value} does not fit a ${width}-byte tar field`);
  return s.padStart(width - 1, "0") + "\0";
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "<len> <key>=<value>\n", where <len> counts the whole record, itself included.
  const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return Buffer.concat([Buffer.from(String(len)), rest]);
}

/** One 512-byte ustar header. */
function header(f: { name: string; mode: number; uid: number; gid: number; size: number; type: string; linkname: string; prefix?: string }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(f.name, 0, 100, "utf8");
  h.write(octal(f.mode, 8), 100, 8, "ascii");
  h.write(octal(f.uid, 8), 108, 8, "ascii");
  h.write(octal(f.gid, 8), 116, 8, "ascii");
  h.write(octal(f.size, 12), 124, 12, "ascii");
  h.write(octal(FIXED_MTIME, 12), 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii");
  h.write(f.type, 156, 1, "ascii");
  h.write(f.linkname, 157, 100, "utf8");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  h.write(octal(0, 8), 329, 8, "ascii");
  h.write(octal(0, 8), 337, 8, "ascii");
  if (f.prefix) h.write(f.prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + " ", 148, 8, "ascii");
  return h;
}

const pad = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);

/** Splits a path into ustar's prefix (155) and name (100) fields, or says it cannot. */
function ustarName(path: string): { name: string; prefix?: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { name: path };
  for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  return undefined;
}

/** The bytes of one entry (PAX header if needed, header, content, padding). */
function entryBytes(e: TarEntry): Buffer[] {
  const path = normalize(e.path);
  const tarPath = e.type === "dir" ? `${path}/` : path;
  const data = e.type === "file" ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
  const linkname = e.type === "symlink" ? (e.linkname ?? "") : "";
  if (e.type === "symlink" && !linkname) throw new Error(`symlink ${path} has no target`);
  const records: Buffer[] = [];
  const split = ustarName(tarPath);
  if (!split || /[^\x20-\x7e]/.test(tarPath)) records.push(paxRecord("path", Buffer.from(tarPath)));
  if (Buffer.byteLength(linkname) > 100 || /[^\x20-\x7e]/.test(linkname)) records.push(paxRecord("linkpath", Buffer.from(linkname)));
  for (const [k, v] of Object.entries(e.xattrs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const out: Buffer[] = [];
  if (records.length) {
    const body = Buffer.concat(records);
    const base = path.split("/").pop()!.slice(0, 80);
    out.push(header({ name: `PaxHeaders/${base}`, mode: 0o644, uid: 0, gid: 0, size: body.length, type: "x", linkname: "" }), body, pad(body.length));
  }
  const short = split ?? { name: tarPath.slice(0, 100) };
  out.push(
    header({
      name: short.name,
      prefix: short.prefix,
      mode: e.mode & 0o7777,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      size: data.length,
      type: e.type === "file" ? "0" : e.type === "dir" ? "5" : "2",
      linkname: linkname.slice(0, 100),
    }),
  );
  if (data.length) out.push(data, pad(data.length));
  return out;
}

/**
 * Adds the parent folders an entry list lacks (0755, root) and sorts by path, refusing
 * two entries at one path unless they are the same folder.
 */
export function completeEntries(entries: TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const raw of entries) {
    const e = { ...raw, path: normalize(raw.path) };
    const old = byPath.get(e.path);
    if (old && !(old.type === "dir" && e.type === "dir")) throw new Error(`two tar entries at ${e.path}`);
    // The same folder named twice: the later one decides its mode and owner.
    byPath.set(e.path, e);
  }
  for (const p of [...byPath.keys()]) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const have = byPath.get(dir);
      if (!have) byPath.set(dir, { path: dir, type: "dir", mode: 0o755 });
      else if (have.type !== "dir") throw new Error(`${p} lies under ${dir}, which is a ${have.type}, not a folder`);
    }
  }
  // Byte order (not locale order): the same on every machine, and a folder sorts before what it holds.
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** A complete tar archive (with the two closing zero blocks) of the entries, deterministic. */
export function tarArchive(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of completeEntries(entries)) parts.push(...entryBytes(e));
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** One entry as read back by readTar (for tests and checks). */
export interface ReadEntry {
  path: string;
  type: "file" | "dir" | "symlink" | "other";
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  data: Buffer;
  linkname: string;
  xattrs: Record<string, Buffer>;
}

/** Reads a tar archive written by tarArchive (ustar + PAX), verifying each header's checksum. */
export function readTar(buf: Buffer): ReadEntry[] {
  const out: ReadEntry[] = [];
  let pax: Record<string, Buffer> = {};
  for (let off = 0; off + BLOCK <= buf.length;) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) =>
      h
        .subarray(a, a + n)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const num = (a: number, n: number) => parseInt(str(a, n).trim() || "0", 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== num(148, 8)) throw new Error(`tar header at offset ${off} has a bad checksum`);
    const size = num(124, 12);
    const type = str(156, 1);
    const data = buf.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x") {
      pax = {};
      for (let i = 0; i < data.length;) {
        const sp = data.indexOf(0x20, i);
        const len = parseInt(data.subarray(i, sp).toString(), 10);
        const rec = data.subarray(sp + 1, i + len - 1);
        const eq = rec.indexOf(0x3d);
        pax[rec.subarray(0, eq).toString()] = Buffer.from(rec.subarray(eq + 1));
        i += len;
      }
      continue;
    }
    const prefix = str(345, 155);
    let path = pax.path?.toString() ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    path = path.replace(/\/$/, "");
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(pax)) if (k.startsWith("SCHILY.xattr.")) xattrs[k.slice("SCHILY.xattr.".length)] = v;
    out.push({
      path,
      type: type === "0" || type === "" ? "file" : type === "5" ? "dir" : type === "2" ? "symlink" : "other",
      mode: num(100, 8),
      uid: num(108, 8),
      gid: num(116, 8),
      mtime: num(136, 12),
      data: Buffer.from(data),
      linkname: pax.linkpath?.toString() ?? str(157, 100),
      xattrs,
    });
    pax = {};
  }
  return out;
}
