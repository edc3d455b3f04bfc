// An S3-compatible endpoint for the tests of the backups' `s3` destination: the Versity S3
// Gateway (Apache-2.0), an S3 server over a plain folder that checks every request's SigV4
// signature against its access key, built from its published module at a pinned release.
// It stands where a user's MinIO, Ceph RGW or any other endpoint of theirs would: the masters'
// curl --aws-sigv4 requests must pass a real server's checks (test/backup-s3.test.ts).
import { Build, parseGoMod, Recipe, wrapperGoMod } from "./recipe";

export const VERSITYGW_MODULE = "github.com/versity/versitygw";
/** The pinned release: the newest the module proxy served on 2026-12-04 (whole: .info, .mod, .zip). */
export const VERSITYGW_VERSION = "v1.8.0";
export const versitygwBuildId = (version = VERSITYGW_VERSION) => `versitygw-${version}`;

export function versitygwBuild(args: { version: string; goMod: string }): Build {
  const mod = parseGoMod(args.goMod);
  if (mod.module !== VERSITYGW_MODULE) throw new Error(`expected the go.mod of ${VERSITYGW_MODULE}, got ${JSON.stringify(mod.module)}`);
  if (mod.replaces.length) throw new Error(`${VERSITYGW_MODULE}@${args.version} replaces ${mod.replaces.map((r) => r.from).join(", ")}: the wrapper would need to repeat them`);
  return {
    kind: "go",
    id: versitygwBuildId(args.version),
    title: `Versity S3 Gateway ${args.version} (an S3-compatible endpoint for the backup tests)`,
    files: {
      "go.mod": wrapperGoMod({
        module: "kubeadm-ha.toolchain/versitygw",
        go: mod.go ?? "1.24",
        godebug: mod.godebug,
        requires: [{ path: VERSITYGW_MODULE, version: args.version }],
      }),
    },
    packages: [`${VERSITYGW_MODULE}/cmd/versitygw`],
    ldflags: [`-X main.Version=${args.version}`],
    outputs: ["versitygw"],
  };
}

export function s3EndpointRecipes(version = VERSITYGW_VERSION): Recipe[] {
  return [{ name: "versitygw", resolve: async (src) => [versitygwBuild({ version, goMod: await src.goMod(VERSITYGW_MODULE, version) })] }];
}
