package driver

import (
	"context"
	"encoding/json"
	"log"
	"strconv"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	mib            = 1 << 20
	defaultRBDSize = 1 << 30 // ceph-csi's size when the claim gives none
)

// RBDController creates and removes RBD images with the rbd CLI, as the RBD provisioner user
// (Rook's secret rook-csi-rbd-provisioner). That is all: nothing attaches them (see RBDNode).
type RBDController struct {
	csi.UnimplementedControllerServer
	Clusters ClusterLookup
	Ceph     Ceph
	locks    *volumeLocks
}

func NewRBDController(c ClusterLookup, ceph Ceph) *RBDController {
	return &RBDController{Clusters: c, Ceph: ceph, locks: newLocks()}
}

func (s *RBDController) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "no volume name")
	}
	if msg := checkCaps(req.GetVolumeCapabilities(), true); msg != "" {
		return nil, status.Error(codes.InvalidArgument, msg)
	}
	if req.GetVolumeContentSource() != nil {
		return nil, status.Error(codes.InvalidArgument, "cephcsi-lite makes empty volumes only: snapshots and clones are not supported")
	}
	p := req.GetParameters()
	clusterID, pool := p["clusterID"], p["pool"]
	if pool == "" {
		return nil, status.Error(codes.InvalidArgument, "no pool (a StorageClass parameter)")
	}
	if p["encrypted"] == "true" {
		return nil, status.Error(codes.InvalidArgument, "cephcsi-lite does not encrypt volumes (encrypted: true)")
	}
	entry, mons, err := s.Clusters.Lookup(clusterID)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cred, err := CredFrom(req.GetSecrets(), userCred, adminCred)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	size, err := requestedBytes(req.GetCapacityRange(), defaultRBDSize)
	if err != nil {
		return nil, err
	}
	sizeMiB := (size + mib - 1) / mib
	vol := RBDVolume{ClusterID: clusterID, Pool: pool, RadosNamespace: entry.RBD.RadosNamespace, Image: VolumeName(req.GetName())}
	id, err := vol.ID()
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.locks.acquire(vol.Image); err != nil {
		return nil, err
	}
	defer s.locks.release(vol.Image)

	out, err := s.Ceph.Run(ctx, cred, mons, "rbd", "info", vol.ImageSpec(), "--format", "json")
	switch {
	case err == nil: // made by an earlier try of this request
		var info struct {
			Size int64 `json:"size"`
		}
		if json.Unmarshal(out, &info) == nil && info.Size > 0 {
			if info.Size < sizeMiB*mib {
				return nil, status.Errorf(codes.AlreadyExists, "image %s exists with %d bytes, less than the %d asked for", vol.ImageSpec(), info.Size, sizeMiB*mib)
			}
			sizeMiB = info.Size / mib
		}
	case IsNotFound(err):
		features := p["imageFeatures"]
		if features == "" {
			features = "layering"
		}
		args := []string{"create", vol.ImageSpec(), "--size", strconv.FormatInt(sizeMiB, 10)}
		for _, f := range strings.Split(features, ",") {
			if f = strings.TrimSpace(f); f != "" {
				args = append(args, "--image-feature", f)
			}
		}
		if dp := p["dataPool"]; dp != "" {
			args = append(args, "--data-pool", dp)
		}
		if _, err := s.Ceph.Run(ctx, cred, mons, "rbd", args...); err != nil && !IsExists(err) {
			return nil, cephError("creating image "+vol.ImageSpec(), err)
		}
	default:
		return nil, cephError("rbd info "+vol.ImageSpec(), err)
	}
	log.Printf("CreateVolume %s: image %s (%d MiB)", req.GetName(), vol.ImageSpec(), sizeMiB)
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:      id,
		CapacityBytes: sizeMiB * mib,
		VolumeContext: volumeContext(p, map[string]string{"clusterID": clusterID, "pool": pool, "imageName": vol.Image, "radosNamespace": vol.RadosNamespace}),
	}}, nil
}

func (s *RBDController) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	vol, err := ParseRBDVolumeID(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	_, mons, err := s.Clusters.Lookup(vol.ClusterID)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cred, err := CredFrom(req.GetSecrets(), userCred, adminCred)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.locks.acquire(vol.Image); err != nil {
		return nil, err
	}
	defer s.locks.release(vol.Image)
	_, err = s.Ceph.Run(ctx, cred, mons, "rbd", "rm", vol.ImageSpec(), "--no-progress")
	if err != nil && !IsNotFound(err) {
		return nil, cephError("removing image "+vol.ImageSpec(), err)
	}
	log.Printf("DeleteVolume: image %s removed", vol.ImageSpec())
	return &csi.DeleteVolumeResponse{}, nil
}

func (s *RBDController) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if _, err := ParseRBDVolumeID(req.GetVolumeId()); err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return validateResponse(req.GetVolumeCapabilities(), true), nil
}

// ControllerExpandVolume grows the image (rbd resize never shrinks without --allow-shrink). It is
// advertised also because Rook always runs the csi-resizer sidecar, which exits when a driver can
// expand nothing.
func (s *RBDController) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	vol, err := ParseRBDVolumeID(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	size, err := requestedBytes(req.GetCapacityRange(), 0)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, status.Error(codes.InvalidArgument, "no size to expand to")
	}
	sizeMiB := (size + mib - 1) / mib
	_, mons, err := s.Clusters.Lookup(vol.ClusterID)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cred, err := CredFrom(req.GetSecrets(), userCred, adminCred)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.locks.acquire(vol.Image); err != nil {
		return nil, err
	}
	defer s.locks.release(vol.Image)
	_, err = s.Ceph.Run(ctx, cred, mons, "rbd", "resize", vol.ImageSpec(), "--size", strconv.FormatInt(sizeMiB, 10), "--no-progress")
	if IsNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "image %s does not exist", vol.ImageSpec())
	}
	if err != nil {
		return nil, cephError("resizing image "+vol.ImageSpec(), err)
	}
	// a filesystem on the image would need growing on the node, as upstream says for mount volumes
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: sizeMiB * mib, NodeExpansionRequired: req.GetVolumeCapability().GetMount() != nil}, nil
}

func (s *RBDController) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	return controllerCaps(csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME, csi.ControllerServiceCapability_RPC_EXPAND_VOLUME), nil
}

// RBDNode refuses to attach: the lab's kernels have no rbd module, and rbd-nbd is not here.
// Unstaging and unpublishing succeed, so that a pod that never started can be cleaned up.
type RBDNode struct{ NodeCommon }

func NewRBDNode(nodeID string, m Mounter) *RBDNode {
	return &RBDNode{NodeCommon{NodeID: nodeID, Mounter: m, locks: newLocks()}}
}

const rbdAttachMsg = "cephcsi-lite provisions RBD images but does not attach them (no rbd kernel module on these hosts, no rbd-nbd): use the CephFS storage class for pods"

func (s *RBDNode) NodeStageVolume(context.Context, *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	return nil, status.Error(codes.Unimplemented, rbdAttachMsg)
}

func (s *RBDNode) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	if req.GetStagingTargetPath() != "" {
		if err := s.unmountIfMounted(req.GetStagingTargetPath()); err != nil {
			return nil, err
		}
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

func (s *RBDNode) NodePublishVolume(context.Context, *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	return nil, status.Error(codes.Unimplemented, rbdAttachMsg)
}
