// The lab's Kubernetes client, run inside a lab host's network namespace: talks to the
// apiserver endpoint with the admin credentials kubeadm wrote (TLS verified against the
// cluster CA) and prints one JSON line with what it saw, for the lab to measure.
//
// usage: node apiclient.js MODE SERVER CA CERT KEY DURATION_MS INTERVAL_MS [PREFIX]
//   (DURATION_MS 0: until SIGTERM; "sampling" on stderr after the first sample; writes: "ok <ms>" after each acknowledged one)
//   writes: creates ConfigMap PREFIX-<n> in `default` every INTERVAL_MS; prints [[t, ok, name, HTTP status (0: no answer)], ...]
//   leases: reads the kube-scheduler and kube-controller-manager Leases; prints [[t, schedulerHolder, controllerManagerHolder], ...]
//   list:   prints the names of ConfigMaps in `default` that start with PREFIX (DURATION/INTERVAL unused)
const https = require("https");
const fs = require("fs");

const [mode, server, ca, cert, key, duration, interval, prefix = "lab"] = process.argv.slice(2);
const agent = new https.Agent({ keepAlive: false, ca: fs.readFileSync(ca), cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
const timeoutMs = Math.max(500, Math.min(2000, Number(interval) || 1000));

function request(method, path, body) {
  return new Promise((resolve) => {
    const url = new URL(path, server);
    const req = https.request(url, { method, agent, timeout: timeoutMs, headers: body ? { "content-type": "application/json" } : {} }, (res) => {
      let data = "";
      res.on("data", (d) => (data += d));
      res.on("end", () => resolve({ status: res.statusCode, body: data }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

let stopped = false;
process.on("SIGTERM", () => (stopped = true));

async function loop(step) {
  const out = [];
  const end = Number(duration) > 0 ? Date.now() + Number(duration) : Infinity;
  // At least one sample, however short the duration.
  do {
    const start = Date.now();
    out.push(await step(start));
    if (out.length === 1) console.error("sampling");
    const wait = Number(interval) - (Date.now() - start);
    if (wait > 0 && Date.now() + wait < end && !stopped) await new Promise((r) => setTimeout(r, wait));
  } while (Date.now() < end && !stopped);
  return out;
}

async function holder(name) {
  const r = await request("GET", `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`);
  if (r.status !== 200) return null;
  return JSON.parse(r.body).spec?.holderIdentity ?? null;
}

async function main() {
  if (mode === "writes") {
    let n = 0;
    const out = await loop(async (t) => {
      const name = `${prefix}-${String(n++).padStart(5, "0")}`;
      const r = await request("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { t: String(t) } });
      if (r.status === 201) console.error(`ok ${t}`);
      return [t, r.status === 201 ? 1 : 0, name, r.status];
    });
    console.log(JSON.stringify(out));
  } else if (mode === "leases") {
    const out = await loop(async (t) => [t, await holder("kube-scheduler"), await holder("kube-controller-manager")]);
    console.log(JSON.stringify(out));
  } else if (mode === "list") {
    const r = await request("GET", "/api/v1/namespaces/default/configmaps");
    if (r.status !== 200) {
      console.error(`list failed: ${r.status} ${r.body}`);
      process.exit(1);
    }
    console.log(
      JSON.stringify(
        JSON.parse(r.body)
          .items.map((i) => i.metadata.name)
          .filter((n) => n.startsWith(prefix)),
      ),
    );
  } else {
    console.error(`unknown mode ${mode}`);
    process.exit(2);
  }
}
main();
