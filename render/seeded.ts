// Values derived from a seed (a resource's name): what the mock runtime answers in place of
// the clouds' random ids and generated names, so that two renders of a stack are byte-identical.
import { createHash } from "crypto";

export const digest = (s: string) => createHash("sha256").update(s).digest();

/** `n` hex digits derived from `seed`. */
export const hex = (seed: string, n: number) => digest(seed).toString("hex").slice(0, n);

/** `length` characters of `chars` derived from `seed`. */
export function randomFromSeed(seed: string, length: number, chars: string): string {
  let out = "";
  let block = digest(seed);
  let i = 0;
  while (out.length < length) {
    if (i >= block.length) {
      block = digest(block.toString("hex"));
      i = 0;
    }
    out += chars[block[i++] % chars.length];
  }
  return out;
}
