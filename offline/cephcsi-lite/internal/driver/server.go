package driver

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// ListenUnix removes a stale socket at path and listens there.
func ListenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale socket: %w", err)
	}
	return net.Listen("unix", path)
}

// logCalls logs each call with its volume ID or name and its outcome; never the request itself,
// which carries secrets.
func logCalls(verbosity int) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		t := time.Now()
		resp, err := h(ctx, req)
		method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
		subject := ""
		if r, ok := req.(interface{ GetVolumeId() string }); ok {
			subject = r.GetVolumeId()
		} else if r, ok := req.(interface{ GetName() string }); ok {
			subject = r.GetName()
		}
		switch {
		case err != nil:
			log.Printf("%s %s: %s: %s (%v)", method, subject, status.Code(err), status.Convert(err).Message(), time.Since(t).Round(time.Millisecond))
		case verbosity >= 4 || !strings.HasPrefix(method, "Probe") && !strings.HasPrefix(method, "Get") && !strings.HasSuffix(method, "GetCapabilities"):
			log.Printf("%s %s: ok (%v)", method, subject, time.Since(t).Round(time.Millisecond))
		}
		return resp, err
	}
}

// ServeCSI serves the identity service and the controller and/or node service for --type=cephfs
// or rbd on --endpoint until ctx ends.
func ServeCSI(ctx context.Context, o Options, version string) error {
	path, err := SocketPath(o.Endpoint)
	if err != nil {
		return err
	}
	clusters := ClusterConfig{Path: o.ConfigFile}
	ceph := Ceph{Runner: ExecRunner{}, KeysDir: o.KeysDir}
	mounter := SysMounter{}
	srv := grpc.NewServer(grpc.UnaryInterceptor(logCalls(o.Verbosity)))
	csi.RegisterIdentityServer(srv, &Identity{Name: o.DriverName, Version: version, OnlineExpansion: o.Type == "cephfs"})
	switch o.Type {
	case "cephfs":
		if o.ControllerServer {
			csi.RegisterControllerServer(srv, NewCephFSController(clusters, ceph))
		}
		if o.NodeServer {
			csi.RegisterNodeServer(srv, NewCephFSNode(o.NodeID, mounter, clusters, ceph, o.FuseMountOptions))
		}
	case "rbd":
		if o.ControllerServer {
			csi.RegisterControllerServer(srv, NewRBDController(clusters, ceph))
		}
		if o.NodeServer {
			csi.RegisterNodeServer(srv, NewRBDNode(o.NodeID, mounter))
		}
	default:
		return fmt.Errorf("ServeCSI: type %q", o.Type)
	}
	l, err := ListenUnix(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	log.Printf("serving %s (%s; controller %v, node %v) on %s", o.DriverName, o.Type, o.ControllerServer, o.NodeServer, path)
	go func() {
		<-ctx.Done()
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Stop()
		}
	}()
	return srv.Serve(l)
}

// ServeLiveness is --type=liveness: it probes the CSI socket every --polltime and serves the result
// as the gauge csi_liveness (1 ready, 0 not) on --metricsport/--metricspath, as upstream's
// liveness sidecar does.
func ServeLiveness(ctx context.Context, o Options) error {
	path, err := SocketPath(o.Endpoint)
	if err != nil {
		return err
	}
	var live atomic.Int32
	probe := func() {
		c, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, o.Timeout)
			var r *csi.ProbeResponse
			r, err = csi.NewIdentityClient(c).Probe(pctx, &csi.ProbeRequest{})
			cancel()
			c.Close()
			if err == nil && (r.GetReady() == nil || r.GetReady().GetValue()) {
				live.Store(1)
				return
			}
		}
		live.Store(0)
		log.Printf("liveness: probe of %s failed: %v", path, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(o.MetricsPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP csi_liveness Liveness Probe\n# TYPE csi_liveness gauge\ncsi_liveness %d\n", live.Load())
	})
	ip := o.MetricsIP
	if ip == "" {
		ip = os.Getenv("POD_IP")
	}
	addr := net.JoinHostPort(ip, fmt.Sprint(o.MetricsPort))
	hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		probe()
		t := time.NewTicker(o.PollTime)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				_ = hs.Close()
				return
			case <-t.C:
				probe()
			}
		}
	}()
	log.Printf("liveness: probing %s every %v, serving %s%s", path, o.PollTime, addr, o.MetricsPath)
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
