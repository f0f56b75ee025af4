package driver

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Options are the cephcsi command-line flags this stand-in acts on. Rook v1.17.8 passes them as
// "--name=value" (pkg/operator/ceph/csi/template/{cephfs,rbd}/*.yaml).
type Options struct {
	Type             string // cephfs, rbd, liveness, controller
	Endpoint         string // unix:///csi/csi.sock
	DriverName       string // e.g. rook-ceph.cephfs.csi.ceph.com
	NodeID           string
	ControllerServer bool
	NodeServer       bool
	Verbosity        int
	Version          bool
	MetricsPort      int
	MetricsPath      string
	MetricsIP        string
	PollTime         time.Duration
	Timeout          time.Duration
	LogFile          string
	LogToStderr      bool
	AlsoLogToStderr  bool
	FuseMountOptions string
	ConfigFile       string // not an upstream flag: the cluster config, /etc/ceph-csi-config/config.json
	KeysDir          string // not an upstream flag: where key files go (Rook mounts a memory emptyDir there)
}

// Ignored is a flag that was accepted but has no effect here, with the reason.
type Ignored struct {
	Arg    string
	Reason string
}

// knownIgnored are upstream cephcsi flags that Rook passes (or may pass) and that mean nothing to
// this stand-in.
var knownIgnored = map[string]string{
	"pidlimit":              "no PID cgroup limit is set",
	"forcecephkernelclient": "only ceph-fuse is supported",
	"kernelmountoptions":    "only ceph-fuse is supported",
	"stagingpath":           "RBD volumes are not attached",
	"setmetadata":           "no metadata is set on subvolumes or images",
	"clustername":           "no metadata is set on subvolumes or images",
	"csi-addons-endpoint":   "there is no CSI-Addons server",
	"domainlabels":          "no topology is reported",
	"drivernamespace":       "the OMAP generator does nothing here",
	"instanceid":            "there is no OMAP journal",
	"histogramoption":       "no histograms are exported",
	"enableprofiling":       "no profiling",
	"enable-read-affinity":  "no read affinity",
	"crush-location-labels": "no read affinity",
	"skipforcedflatten":     "no clones",
	"maxsnapshotsonimage":   "no snapshots",
	"minsnapshotsonimage":   "no snapshots",
	"rbdhardmaxclonedepth":  "no clones",
	"rbdsoftmaxclonedepth":  "no clones",
	"radosnamespacecephfs":  "no rados namespaces for CephFS",
	"logslowopinterval":     "no slow-operation log",
}

// ParseFlags reads cephcsi's arguments. It never fails on an unknown flag: it returns it among the
// ignored ones, so that a newer Rook template cannot crash-loop the driver. It fails only on a bad
// value for a flag it acts on.
func ParseFlags(args []string) (Options, []Ignored, error) {
	o := Options{
		Type:        "",
		Endpoint:    "unix:///tmp/csi.sock",
		MetricsPort: 8080,
		MetricsPath: "/metrics",
		PollTime:    60 * time.Second,
		Timeout:     3 * time.Second,
		LogToStderr: true,
		ConfigFile:  "/etc/ceph-csi-config/config.json",
		KeysDir:     "/tmp/csi/keys",
	}
	var ignored []Ignored
	boolFlags := map[string]*bool{
		"controllerserver": &o.ControllerServer, "nodeserver": &o.NodeServer, "version": &o.Version,
		"logtostderr": &o.LogToStderr, "alsologtostderr": &o.AlsoLogToStderr,
	}
	strFlags := map[string]*string{
		"type": &o.Type, "endpoint": &o.Endpoint, "drivername": &o.DriverName, "nodeid": &o.NodeID,
		"metricspath": &o.MetricsPath, "metricsip": &o.MetricsIP, "log_file": &o.LogFile,
		"fusemountoptions": &o.FuseMountOptions, "clusterconfig": &o.ConfigFile, "keysdir": &o.KeysDir,
	}
	intFlags := map[string]*int{"v": &o.Verbosity, "metricsport": &o.MetricsPort}
	durFlags := map[string]*time.Duration{"polltime": &o.PollTime, "timeout": &o.Timeout}

	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			for _, rest := range args[i+1:] {
				ignored = append(ignored, Ignored{rest, "positional argument"})
			}
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			ignored = append(ignored, Ignored{arg, "positional argument"})
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		// a known flag that takes a value may also be given as "--name value"
		takesValue := strFlags[name] != nil || intFlags[name] != nil || durFlags[name] != nil
		if !hasValue && takesValue && i+1 < len(args) {
			i++
			value, hasValue = args[i], true
		}
		switch {
		case boolFlags[name] != nil:
			b := true
			if hasValue {
				var err error
				if b, err = strconv.ParseBool(value); err != nil {
					return o, ignored, fmt.Errorf("flag --%s: %q is not a boolean", name, value)
				}
			}
			*boolFlags[name] = b
		case strFlags[name] != nil:
			if !hasValue {
				return o, ignored, fmt.Errorf("flag --%s needs a value", name)
			}
			*strFlags[name] = value
		case intFlags[name] != nil:
			n, err := strconv.Atoi(value)
			if err != nil {
				return o, ignored, fmt.Errorf("flag --%s: %q is not a number", name, value)
			}
			*intFlags[name] = n
		case durFlags[name] != nil:
			d, err := time.ParseDuration(value)
			if err != nil {
				return o, ignored, fmt.Errorf("flag --%s: %q is not a duration", name, value)
			}
			*durFlags[name] = d
		default:
			reason, known := knownIgnored[name]
			if !known {
				reason = "unknown to this stand-in"
			}
			ignored = append(ignored, Ignored{arg, reason})
		}
	}
	return o, ignored, nil
}

// Validate checks that the options make sense for the chosen --type.
func (o Options) Validate() error {
	switch o.Type {
	case "cephfs", "rbd":
		if o.DriverName == "" {
			return fmt.Errorf("--drivername is required for --type=%s", o.Type)
		}
		if !o.ControllerServer && !o.NodeServer {
			return fmt.Errorf("--type=%s needs --controllerserver=true or --nodeserver=true", o.Type)
		}
		if o.NodeServer && o.NodeID == "" {
			return fmt.Errorf("--nodeserver=true needs --nodeid")
		}
		if _, err := SocketPath(o.Endpoint); err != nil {
			return err
		}
	case "liveness":
		if _, err := SocketPath(o.Endpoint); err != nil {
			return err
		}
	case "controller":
	case "":
		return fmt.Errorf("--type is required (cephfs, rbd, liveness or controller)")
	default:
		return fmt.Errorf("--type=%s is not supported by this stand-in (cephfs, rbd, liveness and controller are)", o.Type)
	}
	return nil
}

// SocketPath turns a CSI endpoint (unix:///csi/csi.sock, unix:/csi/csi.sock or /csi/csi.sock)
// into the socket's path.
func SocketPath(endpoint string) (string, error) {
	p := endpoint
	switch {
	case strings.HasPrefix(p, "unix://"):
		p = strings.TrimPrefix(p, "unix://")
	case strings.HasPrefix(p, "unix:"):
		p = strings.TrimPrefix(p, "unix:")
	}
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("endpoint %q is not a unix socket path (unix:///path)", endpoint)
	}
	return p, nil
}
