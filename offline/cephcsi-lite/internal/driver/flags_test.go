package driver

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// The cephcsi containers' args from Rook v1.17.8's templates (pkg/operator/ceph/csi/template/),
// as the kubelet passes them: $(NODE_ID) and $(CSI_ENDPOINT) expanded, the template values at
// Rook's defaults (log level 0, driver prefix "rook-ceph.", kubelet dir /var/lib/kubelet), and
// every conditional flag switched on (log rotation, metadata, cluster name, CSI-Addons, topology).
var rookArgs = map[string][]string{
	"cephfs/csi-cephfsplugin.yaml csi-cephfsplugin": {
		"--nodeid=node1", "--type=cephfs", "--endpoint=unix:///csi/csi.sock", "--v=0", "--nodeserver=true",
		"--drivername=rook-ceph.cephfs.csi.ceph.com", "--pidlimit=-1", "--forcecephkernelclient=false",
		"--logtostderr=false", "--alsologtostderr=true",
		"--log_file=/var/lib/rook/rook-ceph/log/node1/csi-cephfsplugin.log",
		"--kernelmountoptions=ms_mode=secure",
	},
	"cephfs/csi-cephfsplugin-provisioner-dep.yaml csi-cephfsplugin": {
		"--nodeid=node1", "--type=cephfs", "--endpoint=unix:///csi/csi-provisioner.sock", "--v=0",
		"--controllerserver=true", "--drivername=rook-ceph.cephfs.csi.ceph.com", "--pidlimit=-1",
		"--forcecephkernelclient=false", "--logtostderr=false", "--alsologtostderr=true",
		"--log_file=/var/lib/rook/rook-ceph/log/node1/csi-cephfsplugin.log",
		"--setmetadata=true", "--clustername=lab", "--csi-addons-endpoint=unix:///csi/csi-addons.sock",
	},
	"rbd/csi-rbdplugin.yaml csi-rbdplugin": {
		"--nodeid=node1", "--endpoint=unix:///csi/csi.sock", "--v=0", "--type=rbd", "--nodeserver=true",
		"--drivername=rook-ceph.rbd.csi.ceph.com", "--pidlimit=-1",
		"--stagingpath=/var/lib/kubelet/plugins/kubernetes.io/csi/",
		"--logtostderr=false", "--alsologtostderr=true",
		"--log_file=/var/lib/rook/rook-ceph/log/node1/csi-rbdplugin.log",
		"--csi-addons-endpoint=unix:///csi/csi-addons.sock",
		"--domainlabels=kubernetes.io/hostname,topology.kubernetes.io/zone",
	},
	"rbd/csi-rbdplugin-provisioner-dep.yaml csi-rbdplugin": {
		"--nodeid=node1", "--endpoint=unix:///csi/csi-provisioner.sock", "--v=0", "--type=rbd",
		"--controllerserver=true", "--drivername=rook-ceph.rbd.csi.ceph.com", "--pidlimit=-1",
		"--logtostderr=false", "--alsologtostderr=true",
		"--log_file=/var/lib/rook/rook-ceph/log/node1/csi-rbdplugin.log",
		"--csi-addons-endpoint=unix:///csi/csi-addons.sock", "--setmetadata=true", "--clustername=lab",
	},
	"rbd/csi-rbdplugin-provisioner-dep.yaml csi-omap-generator": {
		"--type=controller", "--drivernamespace=rook-ceph", "--v=0", "--drivername=rook-ceph.rbd.csi.ceph.com",
		"--setmetadata=true", "--clustername=lab",
	},
	"*/liveness-prometheus": {
		"--type=liveness", "--endpoint=unix:///csi/csi.sock", "--metricsport=9081", "--metricspath=/metrics",
		"--polltime=60s", "--timeout=3s",
	},
}

func TestParseRookArgs(t *testing.T) {
	wantIgnored := map[string][]string{
		"cephfs/csi-cephfsplugin.yaml csi-cephfsplugin":                 {"forcecephkernelclient", "kernelmountoptions", "pidlimit"},
		"cephfs/csi-cephfsplugin-provisioner-dep.yaml csi-cephfsplugin": {"clustername", "csi-addons-endpoint", "forcecephkernelclient", "pidlimit", "setmetadata"},
		"rbd/csi-rbdplugin.yaml csi-rbdplugin":                          {"csi-addons-endpoint", "domainlabels", "pidlimit", "stagingpath"},
		"rbd/csi-rbdplugin-provisioner-dep.yaml csi-rbdplugin":          {"clustername", "csi-addons-endpoint", "pidlimit", "setmetadata"},
		"rbd/csi-rbdplugin-provisioner-dep.yaml csi-omap-generator":     {"clustername", "drivernamespace", "setmetadata"},
		"*/liveness-prometheus":                                         nil,
	}
	for name, args := range rookArgs {
		o, ignored, err := ParseFlags(args)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", name, err)
		}
		var got []string
		for _, ig := range ignored {
			n, _, _ := strings.Cut(strings.TrimLeft(ig.Arg, "-"), "=")
			if ig.Reason == "unknown to this stand-in" {
				t.Errorf("%s: %s is unknown; Rook passes it, so it should be listed with a reason", name, ig.Arg)
			}
			got = append(got, n)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(wantIgnored[name], ",") {
			t.Errorf("%s: ignored %v, want %v", name, got, wantIgnored[name])
		}
	}

	o, _, _ := ParseFlags(rookArgs["cephfs/csi-cephfsplugin-provisioner-dep.yaml csi-cephfsplugin"])
	if o.Type != "cephfs" || !o.ControllerServer || o.NodeServer || o.DriverName != "rook-ceph.cephfs.csi.ceph.com" ||
		o.Endpoint != "unix:///csi/csi-provisioner.sock" || o.NodeID != "node1" || o.LogToStderr || !o.AlsoLogToStderr ||
		o.LogFile != "/var/lib/rook/rook-ceph/log/node1/csi-cephfsplugin.log" {
		t.Errorf("provisioner options: %+v", o)
	}
	if p, _ := SocketPath(o.Endpoint); p != "/csi/csi-provisioner.sock" {
		t.Errorf("socket path %q", p)
	}
	o, _, _ = ParseFlags(rookArgs["rbd/csi-rbdplugin.yaml csi-rbdplugin"])
	if o.Type != "rbd" || !o.NodeServer || o.ControllerServer || o.NodeID != "node1" {
		t.Errorf("rbd node options: %+v", o)
	}
	o, _, _ = ParseFlags(rookArgs["*/liveness-prometheus"])
	if o.Type != "liveness" || o.MetricsPort != 9081 || o.MetricsPath != "/metrics" || o.PollTime != time.Minute || o.Timeout != 3*time.Second {
		t.Errorf("liveness options: %+v", o)
	}
}

func TestParseFlagsTolerant(t *testing.T) {
	o, ignored, err := ParseFlags([]string{"-type", "rbd", "--nodeserver", "--brand-new-flag=1", "--other", "stray",
		"--drivername", "x.rbd.csi.ceph.com", "--nodeid=n"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Type != "rbd" || !o.NodeServer || o.DriverName != "x.rbd.csi.ceph.com" {
		t.Errorf("options %+v", o)
	}
	if len(ignored) != 3 || ignored[0].Arg != "--brand-new-flag=1" || ignored[0].Reason != "unknown to this stand-in" {
		t.Errorf("ignored %+v", ignored)
	}
	if _, _, err := ParseFlags([]string{"--v=high"}); err == nil {
		t.Error("--v=high accepted")
	}
	for _, bad := range [][]string{{"--type=nfs", "--drivername=x", "--controllerserver=true"}, {"--type=cephfs", "--controllerserver=true"},
		{"--type=cephfs", "--drivername=x"}, {"--type=cephfs", "--drivername=x", "--nodeserver=true"}, {}} {
		o, _, _ := ParseFlags(bad)
		if o.Validate() == nil {
			t.Errorf("%v validated", bad)
		}
	}
	if _, err := SocketPath("tcp://1.2.3.4:5"); err == nil {
		t.Error("tcp endpoint accepted")
	}
}
