// IPv4 CIDR helpers over the ip-address library: validation checks addresses with them, the
// plan lays out subnets with them. Pure.
import { Address4 } from "ip-address";

/** Parses `a.b.c.d/n`; returns undefined when it is not a valid IPv4 CIDR. */
export function parseCidr(cidr: string): Address4 | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr) || !Address4.isValid(cidr)) return undefined;
  const a = new Address4(cidr);
  return a.subnetMask >= 0 && a.subnetMask <= 32 ? a : undefined;
}

/** True when the CIDR has host bits set (10.0.0.1/24 instead of 10.0.0.0/24). */
export function hasHostBits(cidr: string): boolean {
  const a = parseCidr(cidr);
  return a !== undefined && a.startAddress().correctForm() !== a.correctForm();
}

/** The network form of a CIDR: 10.0.0.1/24 -> 10.0.0.0/24. */
export function networkOf(cidr: string): string {
  const a = parseCidr(cidr);
  if (!a) throw new Error(`not a CIDR: ${cidr}`);
  return `${a.startAddress().correctForm()}/${a.subnetMask}`;
}

/** True when two CIDRs share any address. */
export function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  return x.isInSubnet(y) || y.isInSubnet(x);
}

/** The n-th address of a CIDR (0 is the network address). Throws when outside the range. */
export function hostAt(cidr: string, n: number): string {
  const a = parseCidr(cidr);
  if (!a) throw new Error(`not a CIDR: ${cidr}`);
  const size = 2n ** BigInt(32 - a.subnetMask);
  if (BigInt(n) >= size) throw new Error(`${cidr} has no address number ${n}`);
  return Address4.fromBigInt(a.startAddress().bigInt() + BigInt(n)).correctForm();
}

/** Number of addresses in a CIDR. */
export function sizeOf(cidr: string): number {
  const a = parseCidr(cidr);
  if (!a) throw new Error(`not a CIDR: ${cidr}`);
  return 2 ** (32 - a.subnetMask);
}

/** Prefix length of a CIDR. */
export function prefixOf(cidr: string): number {
  const a = parseCidr(cidr);
  if (!a) throw new Error(`not a CIDR: ${cidr}`);
  return a.subnetMask;
}

/** The index-th subnet of prefix `newPrefix` inside `cidr`: subnetAt("10.0.0.0/20", 23, 1) = "10.0.2.0/23". */
export function subnetAt(cidr: string, newPrefix: number, index: number): string {
  const a = parseCidr(cidr);
  if (!a) throw new Error(`not a CIDR: ${cidr}`);
  if (newPrefix < a.subnetMask || newPrefix > 32) throw new Error(`cannot cut /${newPrefix} subnets out of ${cidr}`);
  const count = 2 ** (newPrefix - a.subnetMask);
  if (index < 0 || index >= count) throw new Error(`${cidr} has ${count} /${newPrefix} subnets, not ${index + 1}`);
  const start = a.startAddress().bigInt() + BigInt(index) * 2n ** BigInt(32 - newPrefix);
  return `${Address4.fromBigInt(start).correctForm()}/${newPrefix}`;
}

/** "network" or "broadcast" when `address` is that address of `cidr` (a /31 or /32 has neither); else undefined. */
export function edgeAddress(address: string, cidr: string): "network" | "broadcast" | undefined {
  const size = sizeOf(cidr);
  if (size <= 2) return undefined;
  if (address === hostAt(cidr, 0)) return "network";
  if (address === hostAt(cidr, size - 1)) return "broadcast";
  return undefined;
}
