// csi-node-driver-registrar is homelab's stand-in for kubernetes-csi's node-driver-registrar
// (registry.k8s.io/sig-storage/csi-node-driver-registrar), which cannot be built here: it asks the
// CSI driver for its name and registers it with the kubelet on
// <plugin-registration-path>/<name>-reg.sock. See docs/offline.md, "ceph-csi stand-in (cephcsi-lite)".
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"homelab/offline/cephcsi-lite/internal/registrar"
)

// version is the registrar release this stands in for (set by the build with -X main.version).
var version = "v2.13.0"

const usage = `Usage of csi-node-driver-registrar (cephcsi-lite stand-in for node-driver-registrar %s):
  --csi-address string                 the CSI driver's socket (default "/run/csi/socket")
  --kubelet-registration-path string   the same socket's path on the host, given to the kubelet (required)
  --plugin-registration-path string    the kubelet's plugins_registry directory (default "/registration")
  --timeout duration                   timeout of each call to the driver (default 1s)
  --http-endpoint string               serve /healthz here (e.g. ":9809"); --health-port N is the same
  --v int                              log verbosity (accepted; the log is always the same)
  --version                            print the version and exit
Other flags are accepted and ignored (logged).
`

func main() {
	for _, a := range os.Args[1:] {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Printf(usage, version)
			return
		}
	}
	o, ignored, err := registrar.ParseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "csi-node-driver-registrar: %v\n", err)
		os.Exit(2)
	}
	if o.Version {
		fmt.Printf("csi-node-driver-registrar version %s (cephcsi-lite: homelab's stand-in) %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds | log.LUTC)
	log.Printf("csi-node-driver-registrar %s (cephcsi-lite: homelab's stand-in for node-driver-registrar)", version)
	for _, a := range ignored {
		log.Printf("ignoring %s", a)
	}
	if o.Mode != "registration" {
		log.Printf("--mode=%s is not supported by this stand-in; registering as in --mode=registration", o.Mode)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := registrar.Run(ctx, o); err != nil {
		log.Printf("csi-node-driver-registrar: %v", err)
		os.Exit(1)
	}
	log.Printf("stopped")
}
