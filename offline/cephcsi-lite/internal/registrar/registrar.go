// Package registrar is a stand-in for kubernetes-csi's node-driver-registrar: it learns the CSI
// driver's name from its socket and registers it with the kubelet through the plugin
// registration API (k8s.io/kubelet/pkg/apis/pluginregistration/v1).
package registrar

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"homelab/offline/cephcsi-lite/internal/driver"
)

// Options are the registrar's flags (upstream v2.13.0 names).
type Options struct {
	Verbosity               int
	CSIAddress              string // the driver's socket as this container sees it
	KubeletRegistrationPath string // the same socket as the kubelet sees it
	PluginRegistrationPath  string // the kubelet's plugins_registry, mounted here
	Timeout                 time.Duration
	HTTPEndpoint            string // serves /healthz when set
	Mode                    string
	Version                 bool
}

// ParseFlags accepts "--name=value" and "--name value"; unknown flags are returned, not fatal.
func ParseFlags(args []string) (Options, []string, error) {
	o := Options{CSIAddress: "/run/csi/socket", PluginRegistrationPath: "/registration", Timeout: time.Second, Mode: "registration"}
	str := map[string]*string{
		"csi-address": &o.CSIAddress, "kubelet-registration-path": &o.KubeletRegistrationPath,
		"plugin-registration-path": &o.PluginRegistrationPath, "http-endpoint": &o.HTTPEndpoint, "mode": &o.Mode,
	}
	var ignored []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			ignored = append(ignored, arg)
			continue
		}
		name, value, has := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		known := str[name] != nil || name == "v" || name == "timeout" || name == "health-port"
		if !has && known && i+1 < len(args) {
			i++
			value, has = args[i], true
		}
		switch {
		case str[name] != nil:
			*str[name] = value
		case name == "v":
			n, err := strconv.Atoi(value)
			if err != nil {
				return o, ignored, fmt.Errorf("--v: %q is not a number", value)
			}
			o.Verbosity = n
		case name == "timeout":
			d, err := time.ParseDuration(value)
			if err != nil {
				return o, ignored, fmt.Errorf("--timeout: %q is not a duration", value)
			}
			o.Timeout = d
		case name == "health-port": // deprecated upstream in favour of --http-endpoint
			if value != "" && value != "0" {
				o.HTTPEndpoint = ":" + value
			}
		case name == "version":
			o.Version = !has || value == "true"
		default:
			ignored = append(ignored, arg)
		}
	}
	if !o.Version && o.KubeletRegistrationPath == "" {
		return o, ignored, fmt.Errorf("--kubelet-registration-path is required")
	}
	return o, ignored, nil
}

// SocketPath is where the kubelet's plugin watcher finds the registration socket.
func SocketPath(registrationDir, driverName string) string {
	return filepath.Join(registrationDir, driverName+"-reg.sock")
}

// Server is the kubelet's counterpart: GetInfo says which CSI driver is where, and the kubelet
// reports back whether it registered it.
type Server struct {
	registerapi.UnimplementedRegistrationServer
	DriverName string
	Endpoint   string // kubelet-registration-path
	// Failed is called when the kubelet reports a failed registration (the registrar then exits).
	Failed func(msg string)
}

func (s *Server) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	log.Printf("kubelet asked for plugin info: %s at %s", s.DriverName, s.Endpoint)
	return &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: s.DriverName, Endpoint: s.Endpoint,
		SupportedVersions: []string{"1.0.0"}}, nil
}

func (s *Server) NotifyRegistrationStatus(_ context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if !st.PluginRegistered {
		msg := fmt.Sprintf("the kubelet did not register %s: %s", s.DriverName, st.Error)
		log.Print(msg)
		if s.Failed != nil {
			s.Failed(msg)
		}
		return &registerapi.RegistrationStatusResponse{}, nil
	}
	log.Printf("the kubelet registered %s", s.DriverName)
	return &registerapi.RegistrationStatusResponse{}, nil
}

// DriverName asks the CSI driver for its name, retrying until ctx ends (the driver container may
// start after this one).
func DriverName(ctx context.Context, csiAddress string, timeout time.Duration) (string, error) {
	path, err := driver.SocketPath(csiAddress)
	if err != nil {
		return "", err
	}
	for attempt := 1; ; attempt++ {
		name, err := pluginName(ctx, path, timeout)
		if err == nil {
			return name, nil
		}
		if attempt == 1 || attempt%30 == 0 {
			log.Printf("still waiting for the CSI driver at %s: %v", path, err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func pluginName(ctx context.Context, path string, timeout time.Duration) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	c, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer c.Close()
	if timeout < time.Second {
		timeout = time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := csi.NewIdentityClient(c).GetPluginInfo(cctx, &csi.GetPluginInfoRequest{})
	if err != nil {
		return "", err
	}
	if r.GetName() == "" {
		return "", fmt.Errorf("the driver has no name")
	}
	return r.GetName(), nil
}

// Run registers the driver and serves until ctx ends or the kubelet reports a failure.
func Run(ctx context.Context, o Options) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	name, err := DriverName(ctx, o.CSIAddress, o.Timeout)
	if err != nil {
		return fmt.Errorf("no CSI driver at %s: %w", o.CSIAddress, err)
	}
	log.Printf("CSI driver %s at %s (kubelet sees %s)", name, o.CSIAddress, o.KubeletRegistrationPath)
	sock := SocketPath(o.PluginRegistrationPath, name)
	l, err := driver.ListenUnix(sock)
	if err != nil {
		return err
	}
	defer os.Remove(sock)
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, &Server{DriverName: name, Endpoint: o.KubeletRegistrationPath,
		Failed: func(msg string) { cancel(fmt.Errorf("%s", msg)) }})
	if o.HTTPEndpoint != "" {
		go serveHealth(o, sock)
	}
	go func() { <-ctx.Done(); srv.Stop() }()
	log.Printf("serving the registration socket %s", sock)
	if err := srv.Serve(l); err != nil {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
		return cause
	}
	return nil
}

// serveHealth answers /healthz: ok while the registration socket exists and the driver answers.
func serveHealth(o Options, sock string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(sock); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		path, _ := driver.SocketPath(o.CSIAddress)
		if _, err := pluginName(r.Context(), path, o.Timeout); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	hs := &http.Server{Addr: o.HTTPEndpoint, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("health on %s/healthz: %v", o.HTTPEndpoint, hs.ListenAndServe())
}
