// The Pulumi engine recipes' decisions, as pure functions: which pkg/v3 release the CLI
// is built from, the wrapper go.mod files (from the real upstream go.mod texts in the
// toolchain's module cache where it has them), the version stamps, and the bridged
// providers' shim and schema step. The builds themselves run in `npm run toolchain`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { toolchainDir } from "../toolchain/cache";
import { parseGoMod, ModuleSource } from "../toolchain/recipe";
import { allRecipes, lockedVersions, toolchainVersions } from "../toolchain/recipes";
import {
  BRIDGE_MODULE,
  BRIDGED,
  bridgedBuild,
  bridgedFiles,
  bridgedProvider,
  bridgedVersionVar,
  CLI_SUBSTITUTES,
  cliRelease,
  commandBuild,
  LANGUAGE_NODEJS_MODULE,
  languageHostBuild,
  maxGo,
  notPublished,
  PULUMI_PKG,
  PULUMI_SDK,
  PULUMI_VERSION_VAR,
  pluginVersions,
  pulumiCliBuild,
  pulumiRecipes,
  releaseTag,
} from "../toolchain/pulumi";

const ROOT = join(__dirname, "..");

/** A go.mod as the toolchain's module cache holds it, if an earlier `npm run toolchain` downloaded it. */
function cachedGoMod(module: string, version: string): string | undefined {
  const escaped = module.replace(/[A-Z]/g, (c) => "!" + c.toLowerCase());
  const p = join(toolchainDir(), "go", "mod", "cache", "download", escaped, "@v", `${version}.mod`);
  return existsSync(p) ? readFileSync(p, "utf8") : undefined;
}
const needsCache = (text: string | undefined) =>
  text ? false : "the module cache has no copy yet: run npm run toolchain -- --only pulumi-cli,pulumi-resource-tls,pulumi-resource-random";

/** Small go.mod texts in upstream's shapes, for what must hold whatever the cache has. */
const PKG_GO_MOD = `module github.com/pulumi/pulumi/pkg/v3

go 1.26.6

replace github.com/pulumi/pulumi/sdk/v3 => ../sdk

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e

replace (
	github.com/sergi/go-diff => github.com/pgavlin/go-diff v1.2.1-0.20230413140845-7bf6e4f4ad6c
	github.com/xanzy/ssh-agent => github.com/pulumi/ssh-agent v0.5.1
)

require (
	github.com/pulumi/pulumi/sdk/v3 v3.259.0
	github.com/spf13/cobra v1.10.2
)

tool (
	github.com/example/tool
)
`;
const SDK_GO_MOD = `module github.com/pulumi/pulumi/sdk/v3

go 1.26.6

replace golang.org/x/text => golang.org/x/text v0.41.0

require (
	golang.org/x/crypto v0.54.0
	google.golang.org/grpc v1.83.2
)
`;
const BRIDGE_GO_MOD = `module github.com/pulumi/pulumi-terraform-bridge/v3

go 1.25.11

require (
	github.com/hashicorp/terraform-plugin-framework v1.19.0
	github.com/pulumi/pulumi/pkg/v3 v3.256.0
)

replace github.com/hashicorp/terraform-plugin-sdk/v2 => github.com/pulumi/terraform-plugin-sdk/v2 v2.0.0-20260318212141-5525259d096b

replace github.com/hashicorp/terraform-provider-tls => ./pkg/pf/tests/internal/tlsshim/vendor/github.com/hashicorp/terraform-provider-tls

replace github.com/terraform-providers/terraform-provider-random => ./pkg/pf/tests/internal/randomshim/vendor/github.com/hashicorp/terraform-provider-random
`;
const TLS_GO_MOD = `module github.com/hashicorp/terraform-provider-tls

go 1.25.8

require (
	github.com/hashicorp/terraform-plugin-framework v1.19.0
	github.com/hashicorp/terraform-plugin-go v0.31.0
)
`;
const RANDOM_GO_MOD = TLS_GO_MOD.replace("github.com/hashicorp/terraform-provider-tls", "github.com/terraform-providers/terraform-provider-random");

test("release tags: normalised, and nothing else accepted; the highest go line wins", () => {
  assert.equal(releaseTag("3.270.0"), "v3.270.0");
  assert.equal(releaseTag("v5.6.1"), "v5.6.1");
  assert.throws(() => releaseTag("3.270"), /not a release version/);
  assert.throws(() => releaseTag("latest"), /not a release version/);
  assert.equal(maxGo("1.25.8", "1.26.6", undefined), "1.26.6");
  assert.equal(maxGo("1.9", "1.25.8"), "1.25.8");
});

test("the CLI is built at the SDK's tag when the proxy serves it, else at its named substitute", () => {
  assert.deepEqual(cliRelease("3.270.0", true), { version: "v3.270.0" });
  const sub = cliRelease("3.270.0", false);
  assert.equal(sub.version, CLI_SUBSTITUTES["v3.270.0"].version);
  assert.match(sub.substituted!, /not served by the module proxy/);
  assert.throws(() => cliRelease("3.1.0", false), /names no substitute.*CLI_SUBSTITUTES/);
});

test("proxy answers that mean 'not published here' are told apart from other failures", () => {
  assert.ok(
    notPublished(
      new Error("reading https://proxy.golang.org/github.com/pulumi/pulumi/pkg/v3/@v/v3.270.0.mod: 403 Forbidden\n\tserver response: This module version is not available."),
    ),
  );
  assert.ok(notPublished(new Error("github.com/x/y@v1.0.0: invalid version: unknown revision v1.0.0")));
  assert.ok(!notPublished(new Error("dial tcp: lookup proxy.golang.org: no such host")));
});

test("CLI wrapper: pkg/v3 and sdk/v3 at one tag, pkg's non-local replaces repeated, ../sdk dropped, version stamped", () => {
  const b = pulumiCliBuild({ version: "3.259.0", pkgGoMod: PKG_GO_MOD });
  assert.equal(b.kind, "go");
  if (b.kind !== "go") return;
  const mod = parseGoMod(b.files["go.mod"]);
  assert.equal(mod.go, "1.26.6");
  assert.deepEqual(mod.requires, [
    { path: PULUMI_PKG, version: "v3.259.0" },
    { path: PULUMI_SDK, version: "v3.259.0" },
  ]);
  assert.deepEqual(
    mod.replaces.map((r) => r.from),
    ["github.com/atotto/clipboard", "github.com/sergi/go-diff", "github.com/xanzy/ssh-agent"],
  );
  assert.ok(!mod.replaces.some((r) => r.to.startsWith(".")), "no local replace survives");
  assert.deepEqual(b.ldflags, [`-X ${PULUMI_VERSION_VAR}=v3.259.0`]);
  assert.deepEqual(b.packages, ["github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"]);
  assert.deepEqual(b.outputs, ["pulumi"]);
  assert.throws(() => pulumiCliBuild({ version: "3.259.0", pkgGoMod: SDK_GO_MOD }), /expected the go.mod of github.com\/pulumi\/pulumi\/pkg\/v3/);
});

const realPkg = cachedGoMod(PULUMI_PKG, CLI_SUBSTITUTES["v3.270.0"].version);
test("CLI wrapper from the real pkg/v3 go.mod in the module cache", { skip: needsCache(realPkg) }, () => {
  const v = CLI_SUBSTITUTES["v3.270.0"].version;
  const b = pulumiCliBuild({ version: v, pkgGoMod: realPkg!, substituted: "why", sdkVersion: "v3.270.0" });
  if (b.kind !== "go") return assert.fail();
  const upstream = parseGoMod(realPkg!);
  const mod = parseGoMod(b.files["go.mod"]);
  assert.equal(mod.go, upstream.go);
  // Every non-local replace of upstream, and nothing else.
  assert.deepEqual(
    mod.replaces,
    upstream.replaces.filter((r) => !r.to.startsWith(".")),
  );
  assert.ok(
    mod.replaces.some((r) => r.from === "github.com/atotto/clipboard"),
    "pkg/v3 replaces clipboard",
  );
  assert.ok(
    upstream.replaces.some((r) => r.from === PULUMI_SDK && r.to === "../sdk"),
    "upstream replaces sdk with ../sdk",
  );
  assert.match(b.title, /for @pulumi\/pulumi v3.270.0: why/);
});

test("language host: the stand-in against sdk/v3 at the SDK's version, or the published module at a pinned pseudo-version", () => {
  const standin = languageHostBuild({ sdkVersion: "3.270.0", sdkGoMod: SDK_GO_MOD });
  if (standin.kind !== "go") return assert.fail();
  const mod = parseGoMod(standin.files["go.mod"]);
  assert.deepEqual(mod.requires, [{ path: PULUMI_SDK, version: "v3.270.0" }]);
  assert.deepEqual(mod.replaces, [{ from: "golang.org/x/text", fromVersion: undefined, to: "golang.org/x/text", toVersion: "v0.41.0" }]);
  assert.deepEqual(standin.ldflags, [`-X ${PULUMI_VERSION_VAR}=v3.270.0`]);
  assert.deepEqual(standin.outputs, ["pulumi-language-nodejs"]);
  assert.match(standin.title, /stand-in/);
  const main = standin.files["pulumi-language-nodejs/main.go"];
  for (const flag of ["monitor", "engine", "project", "stack", "pwd", "parallel"]) assert.ok(main.includes(`flag("${flag}"`), `passes --${flag}`);
  assert.match(main, /":config:"/, "config keys as <ns>:config:<name>");
  assert.match(main, /PULUMI_CONFIG_SECRET_KEYS/);
  assert.match(main, /PULUMI_NODEJS_TYPESCRIPT=true/);

  const hostGoMod = `module ${LANGUAGE_NODEJS_MODULE}\n\ngo 1.26.6\n\nreplace (\n\tgithub.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e\n\tgithub.com/pulumi/pulumi/pkg/v3 => ../../../../pkg\n\tgithub.com/pulumi/pulumi/sdk/v3 => ../../..\n)\n`;
  const pinned = languageHostBuild({ sdkVersion: "3.270.0", sdkGoMod: SDK_GO_MOD, pseudoVersion: "v3.0.0-20261016182630-0123456789ab", hostGoMod, pkgVersion: "3.259.0" });
  if (pinned.kind !== "go") return assert.fail();
  const pm = parseGoMod(pinned.files["go.mod"]);
  assert.deepEqual(pm.requires, [
    { path: LANGUAGE_NODEJS_MODULE, version: "v3.0.0-20261016182630-0123456789ab" },
    { path: PULUMI_SDK, version: "v3.270.0" },
    { path: PULUMI_PKG, version: "v3.259.0" },
  ]);
  assert.deepEqual(
    pm.replaces.map((r) => r.from),
    ["github.com/atotto/clipboard"],
    "the host's own non-local replaces, not its ../ ones",
  );
  assert.deepEqual(pinned.packages, [LANGUAGE_NODEJS_MODULE]);
  assert.deepEqual(pinned.renames, { v3: "pulumi-language-nodejs" });
  assert.deepEqual(pinned.ldflags, standin.ldflags);
});

test("bridged providers: a shim module under the Terraform provider's path, the bridge's non-local replaces, a fork replace for random", () => {
  const tls = bridgedFiles(bridgedProvider("tls", "5.6.1"), { bridgeGoMod: BRIDGE_GO_MOD, tfGoMod: TLS_GO_MOD, pulumiVersion: "3.259.0" });
  const mod = parseGoMod(tls["go.mod"]);
  assert.equal(mod.go, "1.25.11");
  // The bridge's own test replaces (./pkg/pf/tests/...) are local: dropped.
  assert.deepEqual(
    mod.replaces.map((r) => [r.from, r.to]),
    [
      ["github.com/hashicorp/terraform-plugin-sdk/v2", "github.com/pulumi/terraform-plugin-sdk/v2"],
      ["github.com/hashicorp/terraform-provider-tls/shim", "./shim"],
    ],
  );
  assert.ok(mod.requires.some((r) => r.path === BRIDGE_MODULE && r.version === "v3.137.0"));
  assert.ok(mod.requires.some((r) => r.path === "github.com/hashicorp/terraform-provider-tls" && r.version === BRIDGED.tls["5.6.1"].tfSource.version));
  assert.ok(
    mod.requires.some((r) => r.path === PULUMI_PKG && r.version === "v3.259.0"),
    "the CLI's pkg/v3, so its packages compile once",
  );
  assert.equal(parseGoMod(tls["shim/go.mod"]).module, "github.com/hashicorp/terraform-provider-tls/shim");
  assert.match(tls["shim/shim.go"], /"github.com\/hashicorp\/terraform-provider-tls\/internal\/provider"/);
  assert.match(tls["provider/provider.go"], /tokens\.SingleModule\("tls_", "index"/);
  assert.match(tls["provider/provider.go"], /EnableZeroDefaultSchemaVersion: true/);
  assert.match(tls["cmd/pulumi-resource-tls/main.go"], /go:embed schema.json/);

  const random = bridgedFiles(bridgedProvider("random", "4.21.2"), { bridgeGoMod: BRIDGE_GO_MOD, tfGoMod: RANDOM_GO_MOD, pulumiVersion: "3.259.0" });
  const rm = parseGoMod(random["go.mod"]);
  const fork = rm.replaces.find((r) => r.from === "github.com/terraform-providers/terraform-provider-random");
  assert.deepEqual(fork, {
    from: "github.com/terraform-providers/terraform-provider-random",
    fromVersion: undefined,
    to: "github.com/hashicorp/terraform-provider-random",
    toVersion: BRIDGED.random["4.21.2"].tfSource.version,
  });
  assert.ok(
    parseGoMod(random["shim/go.mod"]).replaces.some((r) => r.to === "github.com/hashicorp/terraform-provider-random"),
    "the shim module resolves the fork too",
  );
  assert.match(random["provider/provider.go"], /"Random"\+name/, "random_password becomes RandomPassword, as upstream names it");
  assert.match(random["provider/provider.go"], /EnableAccurateBridgePreview: true/);

  assert.throws(
    () => bridgedFiles(bridgedProvider("tls", "5.6.1"), { bridgeGoMod: BRIDGE_GO_MOD, tfGoMod: RANDOM_GO_MOD, pulumiVersion: "3.259.0" }),
    /declares module .*terraform-provider-random, expected .*terraform-provider-tls/,
  );
  assert.throws(() => bridgedProvider("tls", "9.9.9"), /knows no Terraform provider .*9.9.9.*BRIDGED/);
});

test("bridged build: tfgen writes the schema first, both binaries carry the plugin version", () => {
  const b = bridgedBuild({ name: "tls", version: "5.6.1", bridgeGoMod: BRIDGE_GO_MOD, tfGoMod: TLS_GO_MOD, pulumiVersion: "3.259.0" });
  if (b.kind !== "go") return assert.fail();
  const stamp = `-X ${bridgedVersionVar(BRIDGED.tls["5.6.1"])}=5.6.1`;
  assert.deepEqual(b.ldflags, [stamp]);
  assert.equal(b.prepare?.length, 1);
  const step = b.prepare![0];
  assert.deepEqual(step.ldflags, [stamp]);
  assert.deepEqual(step.args, ["schema", "--skip-examples", "--out", "cmd/pulumi-resource-tls"]);
  assert.deepEqual(step.produces, ["cmd/pulumi-resource-tls/schema.json", "cmd/pulumi-resource-tls/bridge-metadata.json"]);
  assert.ok(step.package.endsWith("/cmd/pulumi-tfgen-tls"));
  assert.deepEqual(b.outputs, ["pulumi-resource-tls"]);
  assert.equal(b.id, "pulumi-resource-tls-v5.6.1");
});

const realBridge = cachedGoMod(BRIDGE_MODULE, BRIDGED.tls["5.6.1"].bridge);
const realTls = cachedGoMod(BRIDGED.tls["5.6.1"].tfSource.path, BRIDGED.tls["5.6.1"].tfSource.version);
test("bridged wrapper from the real bridge and Terraform provider go.mod files", { skip: needsCache(realBridge && realTls) }, () => {
  const files = bridgedFiles(bridgedProvider("tls", "5.6.1"), { bridgeGoMod: realBridge!, tfGoMod: realTls!, pulumiVersion: "3.259.0" });
  const mod = parseGoMod(files["go.mod"]);
  const upstream = parseGoMod(realBridge!);
  for (const r of upstream.replaces.filter((r) => !r.to.startsWith(".")))
    assert.ok(
      mod.replaces.some((m) => m.from === r.from && m.to === r.to && m.toVersion === r.toVersion),
      `keeps ${r.from}`,
    );
  assert.ok(!mod.replaces.some((r) => r.to.startsWith("./pkg")), "the bridge's test-only local replaces are dropped");
  const fw = parseGoMod(realTls!).requires.find((r) => r.path === "github.com/hashicorp/terraform-plugin-framework")!;
  assert.ok(parseGoMod(files["shim/go.mod"]).requires.some((r) => r.path === fw.path && r.version === fw.version));
});

test("command: our implementation of remote.Command, stamped with the version @pulumi/command registers, with sdk/v3's x/crypto", () => {
  const b = commandBuild({ version: "1.2.1", sdkVersion: "3.259.0", sdkGoMod: SDK_GO_MOD });
  if (b.kind !== "go") return assert.fail();
  assert.equal(b.id, "pulumi-resource-command-ours-v1.2.1");
  assert.deepEqual(b.ldflags, ["-X main.Version=1.2.1"]);
  const mod = parseGoMod(b.files["go.mod"]);
  assert.ok(
    mod.requires.some((r) => r.path === PULUMI_SDK && r.version === "v3.259.0"),
    "against the CLI's sdk/v3",
  );
  assert.ok(
    mod.requires.some((r) => r.path === "golang.org/x/crypto" && r.version === "v0.54.0"),
    "the SSH client at the version sdk/v3 requires",
  );
  assert.deepEqual(b.outputs, ["pulumi-resource-command"]);
  assert.match(b.title, /our implementation of pulumi-command 1\.2\.1's remote\.Command protocol/);
  const main = b.files["pulumi-resource-command/main.go"];
  assert.match(main, /"golang.org\/x\/crypto\/ssh"/);
  assert.doesNotMatch(main, /preview-only/);
  // An sdk/v3 that does not require x/crypto gets a clear error, not a guessed version.
  assert.throws(
    () => commandBuild({ version: "1.2.1", sdkVersion: "3.259.0", sdkGoMod: "module github.com/pulumi/pulumi/sdk/v3\n\ngo 1.26.6\n" }),
    /does not require golang.org\/x\/crypto/,
  );
});

test("the plugin versions come from package-lock.json and each has a recipe", () => {
  const locked = lockedVersions(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const plugins = pluginVersions(locked);
  assert.deepEqual(plugins, { command: locked["@pulumi/command"], tls: locked["@pulumi/tls"], random: locked["@pulumi/random"] });
  assert.doesNotThrow(() => bridgedProvider("tls", plugins.tls));
  assert.doesNotThrow(() => bridgedProvider("random", plugins.random));
  const names = allRecipes(toolchainVersions(ROOT)).map((r) => r.name);
  for (const n of ["kubernetes", "pulumi-cli", "pulumi-language-nodejs", "pulumi-resource-command", "pulumi-resource-tls", "pulumi-resource-random"])
    assert.ok(names.includes(n), n);
});

test("recipes resolve through the module source: a 403 for pkg/v3 at the SDK's tag picks the substitute", async () => {
  const asked: string[] = [];
  const mods: Record<string, string> = {
    [`${PULUMI_PKG}@v3.259.0`]: PKG_GO_MOD,
    [`${PULUMI_SDK}@v3.270.0`]: SDK_GO_MOD,
    [`${PULUMI_SDK}@v3.259.0`]: SDK_GO_MOD,
    [`${BRIDGE_MODULE}@v3.137.0`]: BRIDGE_GO_MOD,
    [`${BRIDGED.tls["5.6.1"].tfSource.path}@${BRIDGED.tls["5.6.1"].tfSource.version}`]: TLS_GO_MOD,
    [`${BRIDGED.random["4.21.2"].tfSource.path}@${BRIDGED.random["4.21.2"].tfSource.version}`]: RANDOM_GO_MOD,
  };
  const src: ModuleSource = {
    goMod: async (m, v) => {
      asked.push(`${m}@${v}`);
      const t = mods[`${m}@${v}`];
      if (!t) throw new Error(`reading https://proxy.golang.org/${m}/@v/${v}.mod: 403 Forbidden\n\tserver response: This module version is not available.`);
      return t;
    },
    file: async () => assert.fail("no file needed"),
    time: async () => assert.fail("no time needed"),
    commit: async () => undefined,
    pseudoVersion: async () => assert.fail("no pseudo-version needed"),
    versions: async () => [],
  };
  const recipes = pulumiRecipes({ "@pulumi/pulumi": "3.270.0", "@pulumi/command": "1.2.1", "@pulumi/tls": "5.6.1", "@pulumi/random": "4.21.2" });
  const builds = (await Promise.all(recipes.map((r) => r.resolve(src)))).flat();
  assert.deepEqual(
    builds.map((b) => b.id),
    ["pulumi-cli-v3.259.0", "pulumi-language-nodejs-standin-v3.270.0", "pulumi-resource-command-ours-v1.2.1", "pulumi-resource-tls-v5.6.1", "pulumi-resource-random-v4.21.2"],
  );
  assert.ok(asked.includes(`${PULUMI_PKG}@v3.270.0`), "asks for the lockfile's tag first");
  assert.match(builds[0].title, /for @pulumi\/pulumi v3.270.0/);
  // Any other failure is not papered over.
  const broken: ModuleSource = {
    ...src,
    goMod: async () => {
      throw new Error("dial tcp: lookup proxy.golang.org: i/o timeout");
    },
  };
  await assert.rejects(recipes[0].resolve(broken), /i\/o timeout/);
});
