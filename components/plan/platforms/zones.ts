// Zone names' parts the resource names use. No Pulumi imports.

/** The short suffix of a zone, for resource names: europe-west1-b -> b, us-east-1a -> a. */
export function zoneSuffix(zone: string): string {
  const m = /-\d+([a-z]+)$/.exec(zone);
  return m ? m[1] : zone.slice(zone.lastIndexOf("-") + 1);
}
