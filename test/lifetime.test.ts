// A cluster's lifetime in the pure plan: when `pulumi up` renews the control plane's
// certificates and rotates the bootstrap token, decided from the last up's outputs and the
// time; how often the timers check; what the render gives every master. The scripts
// themselves are run in certificates-script.test.ts; the lab runs them on a real cluster.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import { checkEverySeconds, earliestExpiry, renewalRound, CERTIFICATES_CONFIG, CERTIFICATES_SCRIPT, CERTIFICATES_UNIT } from "../components/plan/certificates";
import { tokenExpiry, tokenRound, BOOTSTRAP_TOKEN_SCRIPT } from "../components/plan/bootstrap-token";
import { durationSeconds, durationText } from "../components/config/durations";
import { renderInChild } from "./helpers";
import { kubeadmValidate } from "../lab/kubeadm";
import { toolchainSkip } from "./helpers";

// kubeadm runs as a lab host (private mount namespace): root only, as in kubeadm.test.ts.
const SKIP = toolchainSkip(["kubeadm"]) || (typeof process.getuid === "function" && process.getuid() !== 0 ? "needs root: kubeadm runs as a lab host" : undefined);

const HOUR = 3600;
const at = (iso: string) => new Date(iso);

test("durations are written as kubeadm writes them: hours and minutes", () => {
  assert.equal(durationSeconds("8760h"), 8760 * HOUR);
  assert.equal(durationSeconds("2h30m"), 9000);
  assert.equal(durationSeconds("90m"), 5400);
  for (const bad of ["", "h", "1d", "5m3h", "2.5h", "-1h"]) assert.equal(durationSeconds(bad), undefined, bad);
  assert.equal(durationText(9000), "2h30m");
  assert.equal(durationText(86400), "24h");
  assert.equal(durationText(1800), "30m");
});

test("a new stack's certificates are in the round they were issued in; nothing renews them until the window", () => {
  assert.equal(renewalRound(undefined, at("2026-12-03T00:00:00Z"), 720 * HOUR), "issued");
  const last = { expires: "2027-12-03T00:00:00Z", round: "issued" };
  // 31 days before the expiry: outside a 30-day window, the round stays (no step runs again).
  assert.equal(renewalRound(last, at("2027-11-02T00:00:00Z"), 720 * HOUR), "issued");
});

test("once the earliest expiry the last up saw is within the window, pulumi up starts a round named after it", () => {
  const last = { expires: "2027-12-03T00:00:00Z", round: "issued" };
  assert.equal(renewalRound(last, at("2027-11-04T00:00:00Z"), 720 * HOUR), "renew-before-2027-12-03T00:00:00Z");
  // An up that failed midway keeps the old output: the next one is in the same round, so the
  // masters that renewed already do not run again.
  assert.equal(renewalRound(last, at("2027-11-05T00:00:00Z"), 720 * HOUR), "renew-before-2027-12-03T00:00:00Z");
  // After the renewal the output holds the new expiry and the round: nothing runs until the next window.
  assert.equal(
    renewalRound({ expires: "2028-11-04T00:00:00Z", round: "renew-before-2027-12-03T00:00:00Z" }, at("2027-11-06T00:00:00Z"), 720 * HOUR),
    "renew-before-2027-12-03T00:00:00Z",
  );
});

test("the earliest expiry is the earliest any master printed", () => {
  const out = (e: string) => `lab-master-x: earliest certificate expiry ${e} (apiserver, in 1d 0h)\nearliest-expiry=${e}\n`;
  assert.equal(earliestExpiry([out("2027-12-03T10:00:00Z"), out("2027-12-03T09:00:00Z"), undefined, "no line here"]), "2027-12-03T09:00:00Z");
  assert.equal(earliestExpiry([undefined, ""]), undefined);
});

test("the timers check a quarter of the window, between 5 minutes and a day", () => {
  assert.equal(checkEverySeconds(720 * HOUR), 86400);
  assert.equal(checkEverySeconds(30 * 60), 7 * 60);
  assert.equal(checkEverySeconds(10 * 60), 300);
});

test("the bootstrap token rotates once half of its lifetime has passed, by the expiry the last up saw", () => {
  const ttl = 720 * HOUR;
  assert.equal(tokenRound(undefined, at("2026-12-03T00:00:00Z"), ttl), 0);
  const last = { round: 0, expires: "2027-01-02T00:00:00Z" };
  assert.equal(tokenRound(last, at("2026-12-17T23:00:00Z"), ttl), 0);
  assert.equal(tokenRound(last, at("2026-12-18T00:00:00Z"), ttl), 1);
  // An output without an expiry (the token step never ran) keeps its round.
  assert.equal(tokenRound({ round: 3 }, at("2030-01-01T00:00:00Z"), ttl), 3);
  assert.equal(tokenExpiry("bootstrap token abc123 is in the cluster, expires 2027-01-02T00:00:00Z\ntoken-expires=2027-01-02T00:00:00Z\n"), "2027-01-02T00:00:00Z");
  assert.equal(tokenExpiry("token-expires=\n"), undefined);
});

test("every master gets the renewal script, kubeadm's config for it, its timer and the token script; kubeadm accepts the config", { skip: SKIP }, async () => {
  const r = await renderInChild("lab-vip");
  for (const m of ["lab-master-0", "lab-master-1", "lab-master-2"]) {
    const file = (p: string) => readFileSync(join(r.dir, "files", m, p), "utf8");
    assert.match(file(CERTIFICATES_SCRIPT), new RegExp(`node="${m}"`));
    assert.match(file(`etc/systemd/system/${CERTIFICATES_UNIT}.timer`), /OnUnitActiveSec=7m\n/);
    assert.match(file(`etc/systemd/system/${CERTIFICATES_UNIT}.service`), /ExecStart=\/usr\/local\/sbin\/kubeadm-ha-certificates renew-if-due\n/);
    assert.match(file(BOOTSTRAP_TOKEN_SCRIPT), /kubeadm token delete/);
    const config = join(r.dir, "files", m, CERTIFICATES_CONFIG);
    assert.match(readFileSync(config, "utf8"), /certificateValidityPeriod: 2h\n/);
    const run = kubeadmValidate(config);
    assert.equal(run.status, 0, run.stderr);
  }
  // The init config's token expires; it never did before.
  assert.match(readFileSync(join(r.dir, "files/lab-master-0/etc/kubeadm-ha/kubeadm-init.yaml"), "utf8"), /ttl: 720h\n/);
});
