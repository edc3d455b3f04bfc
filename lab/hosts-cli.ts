// npm run lab:hosts -- up [--stack lab-vip] | down | status
// Makes the lab hosts a stack lists (hosts.masters and hosts.workers, names and
// addresses), removes them, or shows them. Needs root.
import { join } from "path";
import { parseArgs } from "util";
import { readStackFile } from "../render/render";
import { planOfConfig } from "../render/topology";
import { HOSTS_NET, HostSpec, LabHosts } from "./hosts";
import { LAB_SSH_USER } from "./rootfs";
import { LabError, labLog, runLabCommand } from "./lab";

export const DEFAULT_LAB_STACK = "lab-vip";

const log = labLog;

/** The machines a stack lists, checked to be on the lab's network. */
export function hostSpecsOfStack(stack: string, configDir = join(__dirname, "..", "stacks")): HostSpec[] {
  const plan = planOfConfig(stack, readStackFile(configDir, stack).config);
  const specs = [...plan.masters.map((m) => ({ name: m.name, address: m.ip })), ...plan.staticWorkers.map((w) => ({ name: w.name, address: w.address }))];
  const outside = specs.filter((s) => !s.address.startsWith(`${HOSTS_NET}.`));
  if (outside.length)
    throw new LabError(
      `stack ${stack} lists ${outside.map((s) => `${s.name} (${s.address})`).join(", ")} outside the lab network ${HOSTS_NET}.0/24: use a lab stack such as ${DEFAULT_LAB_STACK}`,
    );
  return specs;
}

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { stack: { type: "string", default: DEFAULT_LAB_STACK } } });
  const action = positionals[0];
  if (action === "up") {
    const hosts = await LabHosts.up(hostSpecsOfStack(values.stack!), log);
    for (const h of hosts.hosts) log(`${h.name} ${h.address} (ssh -i ${hosts.sshKey} ${LAB_SSH_USER}@${h.address})`);
  } else if (action === "down") {
    LabHosts.down(log);
  } else if (action === "status") {
    if (!LabHosts.exists()) return log("no lab hosts");
    const hosts = LabHosts.load(log);
    for (const h of hosts.hosts) log(`${h.name} ${h.address} ${(await hosts.exec(h.name, ["systemctl", "is-system-running"])).stdout.trim() || "stopped"}`);
  } else {
    throw new LabError(`usage: npm run lab:hosts -- up [--stack NAME] | down | status (got ${action ?? "nothing"})`);
  }
}

if (require.main === module) {
  runLabCommand(main);
}
