package driver

import (
	"context"
	"errors"
	"log"
	"os"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// NodeCommon is the part of the node service that CephFS and RBD share: publishing is a bind
// mount of the staging path, unpublishing its unmount.
type NodeCommon struct {
	csi.UnimplementedNodeServer
	NodeID  string
	Mounter Mounter
	locks   *volumeLocks
}

func (s *NodeCommon) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: s.NodeID}, nil
}

func (s *NodeCommon) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{Capabilities: []*csi.NodeServiceCapability{{
		Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME}},
	}}}, nil
}

// unmountIfMounted unmounts path if anything is mounted there (a broken FUSE mount lazily).
func (s *NodeCommon) unmountIfMounted(path string) error {
	state, err := s.Mounter.State(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return status.Errorf(codes.Internal, "checking %s: %v", path, err)
	}
	if state == NotMounted {
		return nil
	}
	if err := s.Mounter.Unmount(path, state == Broken); err != nil {
		return status.Errorf(codes.Internal, "%v", err)
	}
	log.Printf("unmounted %s (%v)", path, state)
	return nil
}

func (s *NodeCommon) bindPublish(req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	target, staging := req.GetTargetPath(), req.GetStagingTargetPath()
	if req.GetVolumeId() == "" || target == "" || staging == "" || req.GetVolumeCapability() == nil {
		return nil, status.Error(codes.InvalidArgument, "volume ID, target path, staging path and capability are required")
	}
	mode := req.GetVolumeCapability().GetAccessMode().GetMode()
	readOnly := req.GetReadonly() || mode == csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY ||
		mode == csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY
	key := req.GetVolumeId() + " " + target
	if err := s.locks.acquire(key); err != nil {
		return nil, err
	}
	defer s.locks.release(key)

	if st, err := s.Mounter.State(staging); err != nil || st != Mounted {
		return nil, status.Errorf(codes.FailedPrecondition, "staging path %s is %v (%v): NodeStageVolume first", staging, st, err)
	}
	state, err := s.Mounter.State(target)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "checking %s: %v", target, err)
	}
	switch state {
	case Mounted:
		return &csi.NodePublishVolumeResponse{}, nil
	case Broken:
		if err := s.Mounter.Unmount(target, true); err != nil {
			return nil, status.Errorf(codes.Internal, "%v", err)
		}
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	if err := s.Mounter.BindMount(staging, target, readOnly); err != nil {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	log.Printf("NodePublishVolume %s: %s bound at %s (read-only %v)", req.GetVolumeId(), staging, target, readOnly)
	return &csi.NodePublishVolumeResponse{}, nil
}

func (s *NodeCommon) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	target := req.GetTargetPath()
	if req.GetVolumeId() == "" || target == "" {
		return nil, status.Error(codes.InvalidArgument, "volume ID and target path are required")
	}
	key := req.GetVolumeId() + " " + target
	if err := s.locks.acquire(key); err != nil {
		return nil, err
	}
	defer s.locks.release(key)
	if err := s.unmountIfMounted(target); err != nil {
		return nil, err
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "%v", err)
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}
