// Pure helpers for the shared PKI: the discovery hash and the file layout kubeadm expects.
import { createHash, createPublicKey, X509Certificate } from "crypto";
import { MachineFile } from "./bundle";
import { TOKEN_FILE } from "./kubeadm";
import { CA_VALIDITY_HOURS } from "../config/schema";

export { CA_VALIDITY_HOURS };

/**
 * kubeadm's discovery CA hash: `sha256:` + hex SHA-256 of the DER SubjectPublicKeyInfo
 * of the CA certificate. Accepts the certificate or the CA's public key (same SPKI).
 */
export function discoveryHash(pem: string): string {
  const key = pem.includes("BEGIN CERTIFICATE") ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  const der = key.export({ type: "spki", format: "der" });
  return "sha256:" + createHash("sha256").update(der).digest("hex");
}

/** The shared material every control-plane node must hold identically. */
export interface SharedPki {
  caCert: string;
  caKey: string;
  frontProxyCaCert: string;
  frontProxyCaKey: string;
  etcdCaCert: string;
  etcdCaKey: string;
  saKey: string;
  saPub: string;
  bootstrapToken: string;
}

/** kubeadm's certificatesDir. */
export const SHARED_PKI_DIR = "/etc/kubernetes/pki";

/** The shared files under SHARED_PKI_DIR, and what each holds; keys 0600, certificates 0644. */
const SHARED_PKI: Array<[name: string, key: keyof SharedPki]> = [
  ["ca.crt", "caCert"],
  ["ca.key", "caKey"],
  ["front-proxy-ca.crt", "frontProxyCaCert"],
  ["front-proxy-ca.key", "frontProxyCaKey"],
  ["etcd/ca.crt", "etcdCaCert"],
  ["etcd/ca.key", "etcdCaKey"],
  ["sa.key", "saKey"],
  ["sa.pub", "saPub"],
];
export const SHARED_PKI_NAMES = SHARED_PKI.map(([name]) => name);

/** Where kubeadm looks for each shared file, and the bootstrap token's file. */
export function sharedPkiFiles(p: SharedPki): MachineFile[] {
  return [
    ...SHARED_PKI.map(([name, key]): MachineFile => ({ path: `${SHARED_PKI_DIR}/${name}`, mode: name.endsWith(".key") ? "0600" : "0644", content: p[key] })),
    { path: TOKEN_FILE, mode: "0600", content: p.bootstrapToken + "\n" },
  ];
}

/** Bootstrap token format kubeadm accepts. */
export const BOOTSTRAP_TOKEN_RE = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

/** One shared CA, in the tls provider's terms (tls.SelfSignedCert inputs); components/pki.ts creates each. */
export interface CaSpec {
  /** Name suffix in the program (`<name>-<id>-cert`). */
  id: "ca" | "front-proxy-ca" | "etcd-ca";
  commonName: string;
  isCaCertificate: true;
  validityPeriodHours: number;
  allowedUses: string[];
}

export const CA_USES = ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"];
/** The key algorithm of every key (tls.PrivateKey inputs). */
export const KEY_SPEC = { algorithm: "ECDSA", ecdsaCurve: "P256" } as const;

/** The three shared CAs of `clusterName`. Pure. */
export function sharedCaSpecs(clusterName: string): CaSpec[] {
  const ca = (id: CaSpec["id"], cn: string): CaSpec => ({ id, commonName: `${clusterName}-${cn}`, isCaCertificate: true, validityPeriodHours: CA_VALIDITY_HOURS, allowedUses: CA_USES });
  return [ca("ca", "kubernetes-ca"), ca("front-proxy-ca", "front-proxy-ca"), ca("etcd-ca", "etcd-ca")];
}
