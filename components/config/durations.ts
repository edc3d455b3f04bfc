// Durations in stack config, written as kubeadm and Go write them: hours and minutes such as
// "8760h", "720h", "2h30m" or "90m". Pure.

/** A duration the stack may give: whole hours, whole minutes, or both ("2h30m"). */
export const DURATION_RE = /^(?=\d)(?:(\d+)h)?(?:(\d+)m)?$/;

/** "2h30m" → 9000 (seconds); undefined for anything DURATION_RE refuses. */
export function durationSeconds(text: string): number | undefined {
  const m = DURATION_RE.exec(text);
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined;
  return (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60;
}

/** 9000 → "2h30m", 86400 → "24h": how kubeadm's configs and the docs write it. */
export function durationText(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${h > 0 || m === 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}`;
}
