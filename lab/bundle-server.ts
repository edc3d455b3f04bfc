// The lab's artifact server: serves an air-gapped bundle folder over HTTP on the lab
// bridge, as an internal web server does for hosts without a route to the internet
// (`kubernetes.packages.url`). Files only, read-only, no listings.
import { createReadStream, statSync } from "fs";
import { createServer, Server } from "http";
import { join, normalize, sep } from "path";

export interface BundleServer {
  url: string;
  close(): Promise<void>;
}

export function serveBundle(dir: string, host: string, port: number): Promise<BundleServer> {
  const server: Server = createServer((req, res) => {
    let size = -1;
    let path = "";
    try {
      // A malformed %-escape throws here: a 404 like any other path that is not a file.
      const rel = normalize(decodeURIComponent((req.url ?? "/").split("?")[0])).replace(/^[/\\]+/, "");
      path = join(dir, rel);
      if (rel && !rel.startsWith("..") && path.startsWith(dir + sep)) {
        const st = statSync(path);
        if (st.isFile()) size = st.size;
      }
    } catch {
      /* not there */
    }
    if (req.method !== "GET" || size < 0) {
      res.writeHead(req.method === "GET" ? 404 : 405).end();
      return;
    }
    res.writeHead(200, { "content-length": size, "content-type": "application/octet-stream" });
    createReadStream(path).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "EADDRINUSE"
          ? new Error(
              `${host}:${port} is in use: another lab still serves its bundle there (a run with --keep leaves its process running); stop that process (ss -ltnp 'sport = :${port}' names it) and run again`,
            )
          : e,
      ),
    );
    server.listen(port, host, () =>
      resolve({
        url: `http://${host}:${port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    );
  });
}
