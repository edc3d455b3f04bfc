// The real tools' verdicts on rendered files, kept between runs: a file the same tool
// (same version, same arguments) passed before, byte for byte, is not checked again, as
// ESLint's --cache does. Only passes are kept; a failure is checked again every run.
// `KUBEADM_HA_CHECK_CACHE=off` checks every file every time.
import { createHash } from "crypto";
import { closeSync, existsSync, mkdirSync, openSync } from "fs";
import { join } from "path";
import { cacheDir } from "../toolchain/cache";
import { inParallel } from "../render/parallel";
import { collect } from "../lab/lab";

export const CHECK_CACHE_ENV = "KUBEADM_HA_CHECK_CACHE";

export interface CheckedFile {
  /** Where the file is. */
  at: string;
  content: string;
}

export interface Verdict {
  /** Files checked this run (the rest had passed before). */
  checked: number;
  /** What the tool said about the files it failed, empty when all passed. */
  failures: string[];
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Runs `tool args... <files>` (up to `perRun` files a run, runs side by side) on the files it has not passed yet. */
export async function checkOnce(tool: string, version: string, args: string[], files: CheckedFile[], perRun = 1): Promise<Verdict> {
  const off = process.env[CHECK_CACHE_ENV] === "off";
  const dir = join(cacheDir("checks", CHECK_CACHE_ENV), `${tool}-${sha256(`${version}\0${args.join("\0")}`).slice(0, 16)}`);
  const passed = (f: CheckedFile) => join(dir, sha256(f.content));
  // One check per distinct content: the same bytes pass or fail alike.
  const todo = [...new Map(files.filter((f) => off || !existsSync(passed(f))).map((f) => [sha256(f.content), f])).values()];
  const runs: CheckedFile[][] = [];
  for (let i = 0; i < todo.length; i += perRun) runs.push(todo.slice(i, i + perRun));
  const failures: string[] = [];
  mkdirSync(dir, { recursive: true });
  await inParallel(runs, async (run) => {
    const r = await collect(tool, [...args, ...run.map((f) => f.at)]);
    if (r.code !== 0) failures.push(`${tool} ${run.length === 1 ? run[0].at : `(${run.length} files)`}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    else if (!off) for (const f of run) closeSync(openSync(passed(f), "w"));
  });
  return { checked: todo.length, failures };
}
