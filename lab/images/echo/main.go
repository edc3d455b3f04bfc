// echo: the lab's tiny HTTP server (image kubeadm-ha.lab/echo:1). It answers every
// request with the pod it runs in, so a test that curls a Service sees which pod
// answered. Standard library only; built static by the bundle builder.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

// version is what -version prints; the bundle builder sets it with -X main.version=...
var version = "dev"

func main() {
	listen := flag.String("listen", ":8080", "address to listen on")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Printf("echo %s\n", version)
		return
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	// POD_NAME and POD_NAMESPACE come from the downward API in a pod spec; outside a pod the hostname stands in.
	pod := os.Getenv("POD_NAME")
	if pod == "" {
		pod = host
	}
	ns := os.Getenv("POD_NAMESPACE")
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "pod=%s namespace=%s hostname=%s path=%s\n", pod, ns, host, r.URL.Path)
	})
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("echo %s: pod %s listening on %s", version, pod, *listen)
	log.Fatal(srv.ListenAndServe())
}
