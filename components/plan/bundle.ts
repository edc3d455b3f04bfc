// A bundle is how files reach a machine over SSH: the standard input of one
// command, one line per file: `PATH MODE BASE64`. The unpack command
// (scripts.ts) writes them; the offline render reads them back. Pure.

export interface MachineFile {
  /** Absolute path on the machine. */
  path: string;
  /** Octal mode, e.g. "0600". */
  mode: string;
  content: string;
}

const PATH_RE = /^\/[A-Za-z0-9._/-]+$/;
const MODE_RE = /^0[0-7]{3}$/;

export function encodeBundle(files: MachineFile[]): string {
  return files
    .map((f) => {
      if (!PATH_RE.test(f.path)) throw new Error(`bundle: path ${JSON.stringify(f.path)} must be absolute and plain`);
      if (!MODE_RE.test(f.mode)) throw new Error(`bundle: mode ${JSON.stringify(f.mode)} of ${f.path} must be octal like 0644`);
      return `${f.path} ${f.mode} ${Buffer.from(f.content, "utf8").toString("base64")}\n`;
    })
    .join("");
}

export function decodeBundle(text: string): MachineFile[] {
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((line) => {
      const [path, mode, data, ...rest] = line.split(" ");
      if (!PATH_RE.test(path ?? "") || !MODE_RE.test(mode ?? "") || data === undefined || rest.length) throw new Error(`bundle: bad line ${JSON.stringify(line.slice(0, 80))}`);
      return { path, mode, content: Buffer.from(data, "base64").toString("utf8") };
    });
}
