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
  /** External etcd: the apiservers' client certificate and key, signed by the etcd CA. */
  apiserverEtcdClientCert?: string;
  apiserverEtcdClientKey?: string;
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
/**
 * With an external etcd a master holds the etcd CA's certificate, never its key (the etcd
 * machines do: their certificates are signed there), and the apiservers' etcd client
 * certificate and key the program signs.
 */
const EXTERNAL_ETCD_PKI: Array<[name: string, key: keyof SharedPki]> = [
  ...SHARED_PKI.filter(([name]) => name !== "etcd/ca.key"),
  ["apiserver-etcd-client.crt", "apiserverEtcdClientCert"],
  ["apiserver-etcd-client.key", "apiserverEtcdClientKey"],
];
/** What an etcd machine of an external etcd holds of the shared PKI: the etcd CA. */
const ETCD_MACHINE_PKI: Array<[name: string, key: keyof SharedPki]> = SHARED_PKI.filter(([name]) => name.startsWith("etcd/"));

const pkiOf = (etcd: "stacked" | "external") => (etcd === "external" ? EXTERNAL_ETCD_PKI : SHARED_PKI);
/** The shared files of a master, under SHARED_PKI_DIR (kept across a `kubeadm reset`). */
export const sharedPkiNames = (etcd: "stacked" | "external" = "stacked") => pkiOf(etcd).map(([name]) => name);
export const SHARED_PKI_NAMES = sharedPkiNames();

function pkiFiles(list: Array<[name: string, key: keyof SharedPki]>, p: SharedPki): MachineFile[] {
  return list.map(([name, key]): MachineFile => {
    const content = p[key];
    if (content === undefined) throw new Error(`shared PKI: ${name} (${key}) is missing`);
    return { path: `${SHARED_PKI_DIR}/${name}`, mode: name.endsWith(".key") ? "0600" : "0644", content };
  });
}

/** Where kubeadm looks for each shared file of a master, and the bootstrap token's file. */
export function sharedPkiFiles(p: SharedPki, etcd: "stacked" | "external" = "stacked"): MachineFile[] {
  return [...pkiFiles(pkiOf(etcd), p), { path: TOKEN_FILE, mode: "0600", content: p.bootstrapToken + "\n" }];
}

/** An etcd machine's share: the etcd CA, which signs its member's certificates there. */
export function etcdMachinePkiFiles(p: SharedPki): MachineFile[] {
  return pkiFiles(ETCD_MACHINE_PKI, p);
}

/** The apiservers' etcd client certificate (kubeadm's apiserver-etcd-client), in the tls provider's terms. */
export const APISERVER_ETCD_CLIENT = { commonName: "kube-apiserver-etcd-client", allowedUses: ["digital_signature", "key_encipherment", "client_auth"] };

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
  const ca = (id: CaSpec["id"], cn: string): CaSpec => ({
    id,
    commonName: `${clusterName}-${cn}`,
    isCaCertificate: true,
    validityPeriodHours: CA_VALIDITY_HOURS,
    allowedUses: CA_USES,
  });
  return [ca("ca", "kubernetes-ca"), ca("front-proxy-ca", "front-proxy-ca"), ca("etcd-ca", "etcd-ca")];
}
