// cephcsi is homelab's stand-in for ceph-csi's cephcsi binary (quay.io/cephcsi/cephcsi), for an
// air-gapped lab where ceph-csi cannot be built: CephFS volumes mounted with ceph-fuse, RBD images
// provisioned only. It takes the flags Rook v1.17.8 passes and ignores, with a log line, the ones
// it has no use for. See docs/offline.md, "ceph-csi stand-in (cephcsi-lite)".
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"homelab/offline/cephcsi-lite/internal/driver"
)

// version is the ceph-csi release this stands in for (set by the build with -X main.version).
var version = "v3.14.2"

func main() {
	o, ignored, err := driver.ParseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "cephcsi-lite: %v\n", err)
		os.Exit(2)
	}
	if o.Version {
		fmt.Printf("Cephcsi Version: %s (cephcsi-lite: homelab's stand-in, not upstream ceph-csi)\n", version)
		fmt.Printf("Go Version: %s\nCompiler: %s\nPlatform: %s/%s\n", runtime.Version(), runtime.Compiler, runtime.GOOS, runtime.GOARCH)
		return
	}
	setupLog(o)
	log.Printf("cephcsi-lite %s (homelab's stand-in for ceph-csi: CephFS with ceph-fuse, RBD provisioning only), --type=%s", version, o.Type)
	for _, ig := range ignored {
		log.Printf("ignoring %s (%s)", ig.Arg, ig.Reason)
	}
	if err := o.Validate(); err != nil {
		log.Fatalf("cephcsi-lite: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch o.Type {
	case "cephfs", "rbd":
		// the Ceph CLIs' admin sockets; the image has it, but a runtime may mount a tmpfs on /run
		_ = os.MkdirAll("/run/ceph", 0o770)
		err = driver.ServeCSI(ctx, o, version)
	case "liveness":
		err = driver.ServeLiveness(ctx, o)
	case "controller":
		// upstream's OMAP generator / PV controller: there is no OMAP journal here, so it idles
		// (and keeps its container running) until stopped.
		log.Printf("--type=controller: nothing to do in cephcsi-lite (no OMAP journal); idling")
		<-ctx.Done()
	}
	if err != nil {
		log.Fatalf("cephcsi-lite: %v", err)
	}
	log.Printf("stopped")
}

// setupLog follows klog's flags: --logtostderr (default true) logs to stderr only; with
// --logtostderr=false, --log_file gets the log, and stderr too with --alsologtostderr.
func setupLog(o driver.Options) {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds | log.LUTC)
	if o.LogToStderr || o.LogFile == "" {
		log.SetOutput(os.Stderr)
		return
	}
	_ = os.MkdirAll(filepath.Dir(o.LogFile), 0o755)
	f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Printf("cannot open --log_file %s: %v; logging to stderr", o.LogFile, err)
		return
	}
	var w io.Writer = f
	if o.AlsoLogToStderr {
		w = io.MultiWriter(f, os.Stderr)
	}
	log.SetOutput(w)
}
