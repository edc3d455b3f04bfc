// How the Pulumi SDK's mock runtime hands us inputs: secrets, assets and resource references
// as signature-keyed objects, unknowns as a fixed string. Shared by the render and the
// platforms' render descriptors (render/platforms/).
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
export const SIG_ASSET = "c44067f5952c0a294b673a41bacd8c17";
export const SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e";
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether a serialized input is a secret. */
export function isSecret(v: unknown): boolean {
  return !!v && typeof v === "object" && (v as Record<string, unknown>)[SIG_KEY] === SIG_SECRET;
}

/** A serialized input's value, a secret's unwrapped. */
export function plain(v: unknown): unknown {
  return isSecret(v) ? (v as { value: unknown }).value : v;
}
