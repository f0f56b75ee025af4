package driver

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CephFSController provisions CephFS subvolumes with the ceph CLI (the mgr's "fs subvolume"
// commands), as the CephFS provisioner user (Rook's secret rook-csi-cephfs-provisioner).
type CephFSController struct {
	csi.UnimplementedControllerServer
	Clusters ClusterLookup
	Ceph     Ceph
	locks    *volumeLocks
}

func NewCephFSController(c ClusterLookup, ceph Ceph) *CephFSController {
	return &CephFSController{Clusters: c, Ceph: ceph, locks: newLocks()}
}

func (s *CephFSController) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "no volume name")
	}
	if msg := checkCaps(req.GetVolumeCapabilities(), false); msg != "" {
		return nil, status.Error(codes.InvalidArgument, msg)
	}
	if req.GetVolumeContentSource() != nil {
		return nil, status.Error(codes.InvalidArgument, "cephcsi-lite makes empty volumes only: snapshots and clones are not supported")
	}
	p := req.GetParameters()
	clusterID, fsName := p["clusterID"], p["fsName"]
	if fsName == "" {
		return nil, status.Error(codes.InvalidArgument, "no fsName (a StorageClass parameter)")
	}
	if m := p["mounter"]; m == "kernel" {
		log.Printf("CreateVolume %s: the StorageClass asks for mounter=kernel; cephcsi-lite mounts with ceph-fuse only, so staging will fail", req.GetName())
	}
	entry, mons, err := s.Clusters.Lookup(clusterID)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cred, err := CredFrom(req.GetSecrets(), adminCred, userCred)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	size, err := requestedBytes(req.GetCapacityRange(), 0)
	if err != nil {
		return nil, err
	}
	vol := CephFSVolume{ClusterID: clusterID, FsName: fsName, Group: entry.CephFS.SubvolumeGroup, Subvolume: VolumeName(req.GetName())}
	id, err := vol.ID()
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.locks.acquire(vol.Subvolume); err != nil {
		return nil, err
	}
	defer s.locks.release(vol.Subvolume)

	path, err := s.getpath(ctx, cred, mons, vol)
	if IsNotFound(err) {
		// both are no-ops when the group or subvolume exists (a retried request)
		if _, err := s.Ceph.Run(ctx, cred, mons, "ceph", "fs", "subvolumegroup", "create", vol.FsName, vol.Group); err != nil {
			return nil, cephError("creating subvolume group "+vol.Group, err)
		}
		args := []string{"fs", "subvolume", "create", vol.FsName, vol.Subvolume, "--group_name", vol.Group}
		if size > 0 {
			args = append(args, "--size", strconv.FormatInt(size, 10))
		}
		if pool := p["pool"]; pool != "" {
			args = append(args, "--pool_layout", pool)
		}
		if _, err := s.Ceph.Run(ctx, cred, mons, "ceph", args...); err != nil {
			return nil, cephError("creating subvolume "+vol.Subvolume, err)
		}
		path, err = s.getpath(ctx, cred, mons, vol)
	}
	if err != nil {
		return nil, cephError("subvolume path of "+vol.Subvolume, err)
	}
	log.Printf("CreateVolume %s: subvolume %s/%s/%s (%d bytes) at %s", req.GetName(), vol.FsName, vol.Group, vol.Subvolume, size, path)
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{
		VolumeId:      id,
		CapacityBytes: size,
		VolumeContext: volumeContext(p, map[string]string{
			"clusterID": clusterID, "fsName": fsName, "subvolumeName": vol.Subvolume, "subvolumePath": path,
		}),
	}}, nil
}

func (s *CephFSController) getpath(ctx context.Context, cred Cred, mons string, v CephFSVolume) (string, error) {
	out, err := s.Ceph.Run(ctx, cred, mons, "ceph", "fs", "subvolume", "getpath", v.FsName, v.Subvolume, "--group_name", v.Group)
	if err != nil {
		return "", err
	}
	path := strings.TrimSpace(string(out))
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("ceph fs subvolume getpath printed %q", path)
	}
	return path, nil
}

func (s *CephFSController) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	vol, err := ParseCephFSVolumeID(req.GetVolumeId())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	_, mons, err := s.Clusters.Lookup(vol.ClusterID)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cred, err := CredFrom(req.GetSecrets(), adminCred, userCred)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.locks.acquire(vol.Subvolume); err != nil {
		return nil, err
	}
	defer s.locks.release(vol.Subvolume)
	// --force: no error when the subvolume is already gone
	_, err = s.Ceph.Run(ctx, cred, mons, "ceph", "fs", "subvolume", "rm", vol.FsName, vol.Subvolume, "--group_name", vol.Group, "--force")
	if err != nil && !IsNotFound(err) {
		return nil, cephError("removing subvolume "+vol.Subvolume, err)
	}
	log.Printf("DeleteVolume: subvolume %s/%s/%s removed", vol.FsName, vol.Group, vol.Subvolume)
	return &csi.DeleteVolumeResponse{}, nil
}

func (s *CephFSController) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	vol, err := ParseCephFSVolumeID(req.GetVolumeId())
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
	_, mons, err := s.Clusters.Lookup(vol.ClusterID)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cred, err := CredFrom(req.GetSecrets(), adminCred, userCred)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.locks.acquire(vol.Subvolume); err != nil {
		return nil, err
	}
	defer s.locks.release(vol.Subvolume)
	_, err = s.Ceph.Run(ctx, cred, mons, "ceph", "fs", "subvolume", "resize", vol.FsName, vol.Subvolume,
		strconv.FormatInt(size, 10), "--group_name", vol.Group, "--no_shrink")
	if IsNotFound(err) {
		return nil, status.Errorf(codes.NotFound, "subvolume %s does not exist", vol.Subvolume)
	}
	if err != nil {
		return nil, cephError("resizing subvolume "+vol.Subvolume, err)
	}
	// a quota: nothing to do on the nodes
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: size, NodeExpansionRequired: false}, nil
}

func (s *CephFSController) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if _, err := ParseCephFSVolumeID(req.GetVolumeId()); err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	return validateResponse(req.GetVolumeCapabilities(), false), nil
}

func (s *CephFSController) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	return controllerCaps(csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME, csi.ControllerServiceCapability_RPC_EXPAND_VOLUME), nil
}

// CephFSNode mounts subvolumes with ceph-fuse at the staging path, as the CephFS node user (Rook's
// secret rook-csi-cephfs-node), and bind-mounts them into pods.
type CephFSNode struct {
	NodeCommon
	Clusters ClusterLookup
	Ceph     Ceph
	// FuseMountOptions from --fusemountoptions, used when neither the volume nor the cluster config has some
	FuseMountOptions string
}

func NewCephFSNode(nodeID string, m Mounter, c ClusterLookup, ceph Ceph, fuseOpts string) *CephFSNode {
	return &CephFSNode{NodeCommon: NodeCommon{NodeID: nodeID, Mounter: m, locks: newLocks()}, Clusters: c, Ceph: ceph, FuseMountOptions: fuseOpts}
}

func (s *CephFSNode) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	staging := req.GetStagingTargetPath()
	if req.GetVolumeId() == "" || staging == "" || req.GetVolumeCapability() == nil {
		return nil, status.Error(codes.InvalidArgument, "volume ID, staging path and capability are required")
	}
	if req.GetVolumeCapability().GetBlock() != nil {
		return nil, status.Error(codes.InvalidArgument, "raw block volumes are not supported for CephFS")
	}
	vc := req.GetVolumeContext()
	if m := vc["mounter"]; m != "" && m != "fuse" {
		return nil, status.Errorf(codes.FailedPrecondition,
			"mounter %q: this stand-in (cephcsi-lite) only mounts with ceph-fuse; set the StorageClass parameter mounter: fuse", m)
	}
	clusterID, fsName, root := vc["clusterID"], vc["fsName"], vc["subvolumePath"]
	static := vc["staticVolume"] == "true"
	if static {
		root = vc["rootPath"]
	}
	// the ID of a volume made here is authoritative; a static PV's says nothing
	vol, idErr := ParseCephFSVolumeID(req.GetVolumeId())
	if idErr == nil {
		clusterID, fsName = vol.ClusterID, vol.FsName
	}
	if fsName == "" {
		return nil, status.Error(codes.InvalidArgument, "the volume context has no fsName")
	}
	entry, mons, err := s.Clusters.Lookup(clusterID)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	pairs := [][2]string{adminCred, userCred}
	if static {
		pairs = [][2]string{userCred, adminCred}
	}
	cred, err := CredFrom(req.GetSecrets(), pairs...)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.locks.acquire(req.GetVolumeId()); err != nil {
		return nil, err
	}
	defer s.locks.release(req.GetVolumeId())

	state, err := s.Mounter.State(staging)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "checking %s: %v", staging, err)
	}
	switch state {
	case Mounted:
		log.Printf("NodeStageVolume %s: %s is already mounted", req.GetVolumeId(), staging)
		return &csi.NodeStageVolumeResponse{}, nil
	case Broken: // ceph-fuse is gone (e.g. the plugin container restarted): mount afresh
		log.Printf("NodeStageVolume %s: %s is a broken mount; unmounting it first", req.GetVolumeId(), staging)
		if err := s.Mounter.Unmount(staging, true); err != nil {
			return nil, status.Errorf(codes.Internal, "%v", err)
		}
	}
	if root == "" {
		if idErr != nil {
			return nil, status.Error(codes.InvalidArgument, "the volume context has no subvolumePath (or rootPath for staticVolume)")
		}
		c := &CephFSController{Ceph: s.Ceph}
		if root, err = c.getpath(ctx, cred, mons, vol); err != nil {
			return nil, cephError("subvolume path of "+vol.Subvolume, err)
		}
	}
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	args := []string{staging, "-r", root, "--client_fs", fsName}
	opts := vc["fuseMountOptions"]
	if opts == "" {
		opts = entry.CephFS.FuseMountOptions
	}
	if opts == "" {
		opts = s.FuseMountOptions
	}
	if opts != "" {
		args = append(args, "-o", opts)
	}
	if _, err := s.Ceph.Run(ctx, cred, mons, "ceph-fuse", args...); err != nil {
		return nil, cephError("ceph-fuse "+staging, err)
	}
	if st, err := s.Mounter.State(staging); err != nil || st != Mounted {
		return nil, status.Errorf(codes.Internal, "ceph-fuse returned, but %s is %v (%v)", staging, st, err)
	}
	log.Printf("NodeStageVolume %s: %s:%s mounted with ceph-fuse at %s", req.GetVolumeId(), fsName, root, staging)
	return &csi.NodeStageVolumeResponse{}, nil
}

func (s *CephFSNode) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	staging := req.GetStagingTargetPath()
	if req.GetVolumeId() == "" || staging == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID and staging path are required")
	}
	if err := s.locks.acquire(req.GetVolumeId()); err != nil {
		return nil, err
	}
	defer s.locks.release(req.GetVolumeId())
	if err := s.unmountIfMounted(staging); err != nil {
		return nil, err
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

func (s *CephFSNode) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	return s.bindPublish(req)
}
