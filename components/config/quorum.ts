// etcd's arithmetic of failures, shared by the config's checks and the plan. Pure.

/** The members that must answer for etcd to serve writes. */
export const quorumOf = (members: number) => Math.floor(members / 2) + 1;

/**
 * Zones that hold as many members as a quorum: losing one of them stops the cluster. None
 * when every zone holds fewer than a majority (3 members over 3 zones; 5 over 3 as 2+2+1).
 */
export function zonesHoldingQuorum(zones: string[]): string[] {
  const quorum = quorumOf(zones.length);
  const counts = new Map<string, number>();
  for (const z of zones) counts.set(z, (counts.get(z) ?? 0) + 1);
  return [...counts].filter(([, n]) => n >= quorum).map(([z]) => z);
}

/** Control-plane sizes that keep an odd etcd quorum and survive a zone. */
export const CONTROL_PLANE_COUNTS = [3, 5];
/** Sizes allowed when the stack says `controlPlane.highAvailability: false` (a single master, for dev). */
export const NON_HA_CONTROL_PLANE_COUNTS = [1, 3, 5];
/** Zones (failure domains) an HA control plane spreads over at least. */
export const HA_MIN_ZONES = 3;
