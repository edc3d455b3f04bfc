// The lab's client: GETs URL every INTERVAL_MS (HTTPS, certificate not verified: a
// readiness probe, like a load balancer's) for DURATION_MS, or until SIGTERM when
// DURATION_MS is 0, and prints one JSON line with the time and outcome of every
// request, for the lab to measure gaps. Says "sampling" on stderr after the first answer,
// and "ok <ms>" after each successful one.
// usage: node probe.js URL DURATION_MS INTERVAL_MS TIMEOUT_MS
const https = require("https");
const [url, duration, interval, timeout] = process.argv.slice(2);
const agent = new https.Agent({ keepAlive: false });
const samples = [];
const end = Number(duration) > 0 ? Date.now() + Number(duration) : Infinity;
let stopped = false;
process.on("SIGTERM", () => (stopped = true));
function finish() {
  console.log(JSON.stringify(samples));
  process.exit(0);
}
function once() {
  const start = Date.now();
  const req = https.get(url, { rejectUnauthorized: false, timeout: Number(timeout), agent }, (res) => {
    res.resume();
    res.on("end", () => done(res.statusCode === 200));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", () => done(false));
  let finished = false;
  function done(ok) {
    if (finished) return;
    finished = true;
    samples.push([start, ok ? 1 : 0]);
    if (samples.length === 1) console.error("sampling");
    if (ok) console.error(`ok ${start}`);
    const wait = Math.max(0, Number(interval) - (Date.now() - start));
    if (Date.now() < end && !stopped) setTimeout(once, wait);
    else finish();
  }
}
once();
