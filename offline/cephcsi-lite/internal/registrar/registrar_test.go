package registrar

import (
	"context"
	"flag"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"homelab/offline/cephcsi-lite/internal/driver"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		log.SetOutput(io.Discard)
	}
	os.Exit(m.Run())
}

// The driver-registrar container's args in Rook v1.17.8 (template/cephfs/csi-cephfsplugin.yaml,
// template/rbd/csi-rbdplugin.yaml) with the default kubelet dir and driver prefix.
var rookRegistrarArgs = []string{
	"--v=0",
	"--csi-address=/csi/csi.sock",
	"--kubelet-registration-path=/var/lib/kubelet/plugins/rook-ceph.cephfs.csi.ceph.com/csi.sock",
}

func TestParseRookArgs(t *testing.T) {
	o, ignored, err := ParseFlags(rookRegistrarArgs)
	if err != nil || len(ignored) != 0 {
		t.Fatalf("%v %v", ignored, err)
	}
	if o.CSIAddress != "/csi/csi.sock" || o.KubeletRegistrationPath != "/var/lib/kubelet/plugins/rook-ceph.cephfs.csi.ceph.com/csi.sock" ||
		o.PluginRegistrationPath != "/registration" || o.Mode != "registration" || o.Timeout != time.Second {
		t.Errorf("%+v", o)
	}
	if SocketPath(o.PluginRegistrationPath, "rook-ceph.cephfs.csi.ceph.com") != "/registration/rook-ceph.cephfs.csi.ceph.com-reg.sock" {
		t.Error("socket path")
	}
	o, ignored, err = ParseFlags(append(rookRegistrarArgs, "--health-port=9809", "--enable-pprof", "--timeout", "5s"))
	if err != nil || o.HTTPEndpoint != ":9809" || o.Timeout != 5*time.Second || len(ignored) != 1 || ignored[0] != "--enable-pprof" {
		t.Errorf("%+v %v %v", o, ignored, err)
	}
	if _, _, err := ParseFlags([]string{"--csi-address=/csi/csi.sock"}); err == nil {
		t.Error("no --kubelet-registration-path accepted")
	}
	if o, _, err := ParseFlags([]string{"--version"}); err != nil || !o.Version {
		t.Errorf("--version: %v", err)
	}
}

// A real round trip: cephcsi's identity service on a socket, the registrar asking it for its name
// and serving the registration socket, a "kubelet" reading GetInfo and reporting a failure, after
// which the registrar stops with an error (upstream exits, and the container restarts).
func TestRegistrationRoundTrip(t *testing.T) {
	dir, err := os.MkdirTemp("", "reg") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const name = "rook-ceph.cephfs.csi.ceph.com"
	csiSock := filepath.Join(dir, "csi.sock")
	go func() {
		_ = driver.ServeCSI(ctx, driver.Options{Type: "cephfs", ControllerServer: true, DriverName: name,
			Endpoint: "unix://" + csiSock, ConfigFile: filepath.Join(dir, "config.json")}, "v3.14.2")
	}()
	regDir := filepath.Join(dir, "registration")
	// a stale socket from an earlier run must not stop the registrar
	_ = os.MkdirAll(regDir, 0o755)
	_ = os.WriteFile(SocketPath(regDir, name), nil, 0o600)

	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{CSIAddress: csiSock, KubeletRegistrationPath: "/var/lib/kubelet/plugins/" + name + "/csi.sock",
			PluginRegistrationPath: regDir, Timeout: time.Second, Mode: "registration"})
	}()
	sock := SocketPath(regDir, name)
	var c *grpc.ClientConn
	var info *registerapi.PluginInfo
	for i := 0; i < 100; i++ {
		if st, err := os.Stat(sock); err == nil && st.Mode()&os.ModeSocket != 0 {
			c, _ = grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if info, err = registerapi.NewRegistrationClient(c).GetInfo(ctx, &registerapi.InfoRequest{}); err == nil {
				break
			}
			c.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	if info == nil {
		t.Fatal("no registration socket")
	}
	defer c.Close()
	if info.Type != "CSIPlugin" || info.Name != name || info.Endpoint != "/var/lib/kubelet/plugins/"+name+"/csi.sock" ||
		strings.Join(info.SupportedVersions, ",") != "1.0.0" {
		t.Errorf("GetInfo %v", info)
	}
	if _, err := registerapi.NewRegistrationClient(c).NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("stopped after a successful registration: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	_, _ = registerapi.NewRegistrationClient(c).NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: false, Error: "version mismatch"})
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "version mismatch") {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still running after a failed registration")
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("registration socket left behind")
	}
}
