package driver

import (
	"fmt"
	"strings"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ClusterLookup finds a cluster's config entry and its monitors ("-m" value).
type ClusterLookup interface {
	Lookup(clusterID string) (ClusterEntry, string, error)
}

// StaticClusters is a fixed cluster list (tests).
type StaticClusters []ClusterEntry

func (s StaticClusters) Lookup(clusterID string) (ClusterEntry, string, error) {
	return FindCluster(s, clusterID)
}

// volumeLocks keeps two operations on the same volume from running at once; the second gets
// Aborted and the sidecar retries, as upstream ceph-csi does.
type volumeLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

func newLocks() *volumeLocks { return &volumeLocks{held: map[string]bool{}} }

func (l *volumeLocks) acquire(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[key] {
		return status.Errorf(codes.Aborted, "an operation on %s is already in progress", key)
	}
	l.held[key] = true
	return nil
}

func (l *volumeLocks) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, key)
}

// volumeContext is what NodeStageVolume will get: the StorageClass parameters (without the
// sidecars' csi.storage.k8s.io/ ones) and what the controller adds.
func volumeContext(params map[string]string, add map[string]string) map[string]string {
	vc := map[string]string{}
	for k, v := range params {
		if !strings.HasPrefix(k, "csi.storage.k8s.io/") {
			vc[k] = v
		}
	}
	for k, v := range add {
		if v != "" {
			vc[k] = v
		}
	}
	return vc
}

// requestedBytes is the size to make: required_bytes, else limit_bytes, else def.
func requestedBytes(r *csi.CapacityRange, def int64) (int64, error) {
	if r == nil {
		return def, nil
	}
	req, lim := r.GetRequiredBytes(), r.GetLimitBytes()
	if req < 0 || lim < 0 || (lim > 0 && req > lim) {
		return 0, status.Errorf(codes.OutOfRange, "capacity range required %d, limit %d is not valid", req, lim)
	}
	if req > 0 {
		return req, nil
	}
	if lim > 0 {
		return lim, nil
	}
	return def, nil
}

// checkCaps says why capabilities cannot be met, or "" when they can. CephFS has no block mode;
// RBD images take one writer unless used as raw block.
func checkCaps(caps []*csi.VolumeCapability, block bool) string {
	if len(caps) == 0 {
		return "no volume capabilities"
	}
	for _, c := range caps {
		if c.GetAccessMode() == nil {
			return "a volume capability has no access mode"
		}
		mode := c.GetAccessMode().GetMode()
		switch {
		case c.GetBlock() != nil && !block:
			return "raw block volumes are not supported for CephFS"
		case c.GetBlock() == nil && c.GetMount() == nil:
			return "a volume capability has neither mount nor block access"
		case block && c.GetMount() != nil && (mode == csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER ||
			mode == csi.VolumeCapability_AccessMode_MULTI_NODE_SINGLE_WRITER):
			return fmt.Sprintf("access mode %s needs a shared filesystem: use CephFS", mode)
		}
	}
	return ""
}

func validateResponse(caps []*csi.VolumeCapability, block bool) *csi.ValidateVolumeCapabilitiesResponse {
	if msg := checkCaps(caps, block); msg != "" {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: msg}
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{VolumeCapabilities: caps}}
}

func controllerCaps(caps ...csi.ControllerServiceCapability_RPC_Type) *csi.ControllerGetCapabilitiesResponse {
	r := &csi.ControllerGetCapabilitiesResponse{}
	for _, c := range caps {
		r.Capabilities = append(r.Capabilities, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: c}},
		})
	}
	return r
}

// cephError turns a failed Ceph command into a gRPC error.
func cephError(what string, err error) error {
	if _, ok := status.FromError(err); ok && status.Code(err) != codes.Unknown {
		return err
	}
	return status.Errorf(codes.Internal, "%s: %v", what, err)
}
