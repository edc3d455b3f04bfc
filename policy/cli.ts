// npm run policy -- --stack <name> [--config-dir <dir>]
// The policy pack over the offline render of a stack: what `pulumi preview
// --policy-pack policy` would refuse, without credentials. Exit 1 on a violation.
import { resolve } from "path";
import { RenderError, renderStack } from "../render/render";
import { runPolicies } from "./offline";
import { POLICIES } from "./rules";

async function main() {
  const argv = process.argv.slice(2);
  let stack: string | undefined;
  let configDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack") stack = argv[++i];
    else if (argv[i] === "--config-dir") configDir = resolve(argv[++i]);
    else {
      console.error(`policy: unknown argument ${JSON.stringify(argv[i])}\nusage: npm run policy -- --stack <name> [--config-dir <dir>]`);
      process.exit(2);
    }
  }
  if (!stack) {
    console.error("policy: --stack is required\nusage: npm run policy -- --stack <name> [--config-dir <dir>]");
    process.exit(2);
  }
  const result = await renderStack(resolve(__dirname, ".."), stack, configDir);
  const violations = await runPolicies(result.resources, POLICIES);
  for (const v of violations) console.log(`mandatory  ${v.policy}: ${v.message}\n           ${v.urn}`);
  console.log(`${stack}: ${POLICIES.length} policies over ${result.resources.length} resources, ${violations.length} violation${violations.length === 1 ? "" : "s"}`);
  process.exit(violations.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e instanceof RenderError ? `policy: ${e.message}` : `policy: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
