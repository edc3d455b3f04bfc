// README stays true: every config key of the schema has a row in the config reference with the
// default the schema gives it, and the numbers it gives for the endpoint's checks are the ones
// the code configures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import { clusterConfigSchema } from "../components/config/schema";
import { federationConfigSchema } from "../components/config/federation";
import { schemaDefaults, schemaKeys } from "../components/config/keys";
import { fromRawConfig, validateClusterConfig } from "../components/config/validate";
import { APISERVER_HEALTH_CHECK, APISERVER_TARGET_HEALTH_CHECK, endpointMarkDownSeconds, PROXY_CHECK } from "../components/plan/endpoint-checks";
import { shutdownDelaySeconds } from "../components/plan/apiserver-flags";
import { readStackFile } from "../render/render";
import { ROOT } from "./helpers";

test("README's config reference lists every config key", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const keys = schemaKeys(clusterConfigSchema);
  assert.ok(keys.length > 25, `walked only ${keys.length} keys`);
  const missing = keys.filter((k) => !readme.includes(`| \`${k}\` |`));
  assert.deepEqual(missing, [], "add these keys to the config reference in README.md");
});

test("README's config reference gives each key the default the schema gives it", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const federationAt = readme.indexOf("### Federation stacks");
  const rowsOf = (section: string) =>
    new Map(
      section.split("\n").flatMap((line) => {
        const m = /^\| `([^`]+)` \| (.*?) \| (.*) \|$/.exec(line);
        return m ? [[m[1], { default: m[2], meaning: m[3] }] as const] : [];
      }),
    );
  const sections = [
    { schema: clusterConfigSchema, rows: rowsOf(readme.slice(readme.indexOf("## Config reference"), federationAt)) },
    { schema: federationConfigSchema, rows: rowsOf(readme.slice(federationAt, readme.indexOf("\n## ", federationAt))) },
  ];
  const wrong: string[] = [];
  let compared = 0;
  for (const { schema, rows } of sections) {
    for (const [key, value] of Object.entries(schemaDefaults(schema))) {
      const row = rows.get(key);
      // A key refused where it is listed (an etcd machine's labels) documents the refusal instead.
      if (!row || row.meaning.startsWith("refused")) continue;
      compared++;
      const shown = typeof value === "string" ? value : JSON.stringify(value);
      if (!row.default.startsWith(`\`${shown}\``)) wrong.push(`${key}: README says ${row.default}, the schema ${shown}`);
    }
  }
  assert.ok(compared > 40, `compared only ${compared} defaults`);
  assert.deepEqual(wrong, [], "correct the default column of these rows in README.md");
});

test("README gives the two commands of a fresh machine", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  assert.match(readme, /\.\/setup\.sh && npm run render -- --stack gcp-three-zone/);
  // The tests run the real Kubernetes and Pulumi programs: the second command builds them first.
  assert.match(readme, /\nnpm run toolchain && npm test/);
  // ... and it is what CI runs, in that order.
  assert.match(readFileSync(join(ROOT, ".ci/run"), "utf8"), /npm run toolchain[\s\S]*npm test/);
});

test("README's federation reference lists every federation config key", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const keys = schemaKeys(federationConfigSchema).filter((k) => !/^(services\[\]\.ports\[\]|aliases\[\])\./.test(k));
  assert.ok(keys.length > 12, `walked only ${keys.length} keys`);
  assert.deepEqual(
    keys.filter((k) => !readme.includes(`| \`${k}\` |`)),
    [],
  );
});

test("README's numbers for the endpoint's health checks and the apiservers' shutdown delay are the code's", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
  const gcp = APISERVER_HEALTH_CHECK;
  const aws = APISERVER_TARGET_HEALTH_CHECK;
  assert.ok(readme.includes(`HTTPS /readyz every ${gcp.checkIntervalSec} s, down after ${gcp.unhealthyThreshold}`), "GCP's check in the picture");
  assert.ok(readme.includes(`HTTPS \`/readyz\` on 6443 every ${aws.interval} s, unhealthy after ${aws.unhealthyThreshold}`), "AWS's target group check");
  assert.equal(PROXY_CHECK.interMs, 1000, "README says haproxy checks every second");
  assert.ok(readme.includes(`HTTPS \`/readyz\` checks every second, down after ${PROXY_CHECK.fall} failures`), "haproxy's check");
  // Design notes: each endpoint's worst case, and the delay that covers it.
  const delays = ["onprem-vip", "gcp-three-zone", "aws-three-az"].map((stack) => {
    const raw = readStackFile(join(ROOT, "stacks"), stack).config;
    const c = validateClusterConfig(fromRawConfig(raw), stack, raw);
    return `${endpointMarkDownSeconds(c)} s: ${shutdownDelaySeconds(c)} s`;
  });
  assert.ok(readme.includes(`(haproxy ${delays[0]}; the GCP load balancer ${delays[1]}; the AWS NLB ${delays[2]},`), `README's shutdown delays: ${delays.join(", ")}`);
});
