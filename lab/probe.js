// The lab's client: GETs URL every INTERVAL_MS for DURATION_MS (HTTPS, certificate not
// verified: the apiserver stand-ins are self-signed) and prints one JSON line with
// the time and outcome of every request, for the lab to measure gaps.
// usage: node probe.js URL DURATION_MS INTERVAL_MS TIMEOUT_MS
const https = require("https");
const [url, duration, interval, timeout] = process.argv.slice(2);
const agent = new https.Agent({ keepAlive: false });
const samples = [];
const end = Date.now() + Number(duration);
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
    const wait = Math.max(0, Number(interval) - (Date.now() - start));
    if (Date.now() < end) setTimeout(once, wait);
    else console.log(JSON.stringify(samples));
  }
}
once();
