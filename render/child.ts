// One render in its own Node process (the SDK runs one program per process): how the
// federation renders its members, render:diff renders base and head, and the tests
// render many stacks side by side.
import { spawn } from "child_process";
import { join } from "path";

export interface ChildResult {
  code: number | null;
  stderr: string;
}

/** Runs `<src>/render/cli.ts --stack <stack> --out <out> [--config-dir <dir>]` with `src` as its working directory. */
export function renderInChildProcess(src: string, stack: string, out: string, configDir?: string, lastOutputs?: string): Promise<ChildResult> {
  const args = [
    "--import",
    "tsx",
    join(src, "render/cli.ts"),
    "--stack",
    stack,
    "--out",
    out,
    ...(configDir ? ["--config-dir", configDir] : []),
    ...(lastOutputs ? ["--last-outputs", lastOutputs] : []),
  ];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { cwd: src, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stderr }));
  });
}
