// The cluster's shared PKI made outside Pulumi, the way components/pki.ts makes it:
// ECDSA P-256 keys, self-signed CAs `<cluster>-kubernetes-ca`, `<cluster>-front-proxy-ca`,
// `<cluster>-etcd-ca` (is-CA, ten years, cert_signing/crl_signing/digital_signature/
// key_encipherment), an ECDSA service-account key pair and a bootstrap token.
// The spec (components/plan/pki.ts) is the one components/pki.ts hands the tls provider.
// Keys come from node's crypto (SEC1 "EC PRIVATE KEY", as the tls provider writes
// them), certificates from openssl.
import { execFileSync } from "child_process";
import { generateKeyPairSync, randomInt } from "crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { CaSpec, sharedCaSpecs, SharedPki } from "../components/plan/pki";

export { CA_VALIDITY_HOURS, CA_USES, KEY_SPEC, sharedCaSpecs } from "../components/plan/pki";

/** tls provider usage names → openssl keyUsage names. */
const KEY_USAGE: Record<string, string> = {
  cert_signing: "keyCertSign",
  crl_signing: "cRLSign",
  digital_signature: "digitalSignature",
  key_encipherment: "keyEncipherment",
};

/**
 * The openssl `req -x509` config that makes `spec`'s certificate: what the tls provider
 * puts in a self-signed CA (basicConstraints and keyUsage critical, as Go's x509 marks
 * them). Validity is given on the command line (`-days`). Pure.
 */
export function opensslCaConfig(spec: CaSpec): string {
  const usages = spec.allowedUses.map((u) => {
    if (!KEY_USAGE[u]) throw new Error(`no openssl keyUsage for ${u}`);
    return KEY_USAGE[u];
  });
  return [
    "[req]",
    "distinguished_name = dn",
    "x509_extensions = ext",
    "prompt = no",
    "[dn]",
    `CN = ${spec.commonName}`,
    "[ext]",
    `basicConstraints = critical,CA:${spec.isCaCertificate ? "TRUE" : "FALSE"}`,
    `keyUsage = critical,${usages.join(",")}`,
    "subjectKeyIdentifier = hash",
    "",
  ].join("\n");
}

/** `-days` for a validity in hours (the provider counts hours; openssl days). */
export function validityDays(hours: number): number {
  if (hours % 24 !== 0) throw new Error(`validity of ${hours} h is not whole days`);
  return hours / 24;
}

/** A fresh ECDSA P-256 key pair: SEC1 private key and SPKI public key, PEM. */
export function ecdsaKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKeyPem: privateKey.export({ type: "sec1", format: "pem" }) as string, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string };
}

/** A bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}`, as the program's two random passwords make it. */
export function newBootstrapToken(): string {
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  const pick = (n: number) => Array.from({ length: n }, () => chars[randomInt(chars.length)]).join("");
  return `${pick(6)}.${pick(16)}`;
}

/** One self-signed CA (key and certificate PEM) made with openssl. */
export function makeCa(spec: CaSpec): { certPem: string; keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), "kubeadm-ha-ca-"));
  try {
    const key = ecdsaKeyPair().privateKeyPem;
    writeFileSync(join(dir, "ca.key"), key, { mode: 0o600 });
    writeFileSync(join(dir, "openssl.cnf"), opensslCaConfig(spec));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-new",
        "-sha256",
        "-config",
        join(dir, "openssl.cnf"),
        "-key",
        join(dir, "ca.key"),
        "-days",
        String(validityDays(spec.validityPeriodHours)),
        "-out",
        join(dir, "ca.crt"),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    return { certPem: readFileSync(join(dir, "ca.crt"), "utf8"), keyPem: key };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The whole shared set for `clusterName` (what ClusterPki.shared holds), with a new token unless given. */
export function makeSharedPki(clusterName: string, bootstrapToken = newBootstrapToken()): SharedPki {
  const [ca, frontProxy, etcd] = sharedCaSpecs(clusterName).map(makeCa);
  const sa = ecdsaKeyPair();
  return {
    caCert: ca.certPem,
    caKey: ca.keyPem,
    frontProxyCaCert: frontProxy.certPem,
    frontProxyCaKey: frontProxy.keyPem,
    etcdCaCert: etcd.certPem,
    etcdCaKey: etcd.keyPem,
    saKey: sa.privateKeyPem,
    saPub: sa.publicKeyPem,
    bootstrapToken,
  };
}
