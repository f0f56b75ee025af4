package driver

import (
	"context"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRBDCreateIsIdempotent(t *testing.T) {
	images := map[string]bool{}
	f := &fakeRunner{t: t}
	f.handle = func(name string, a []string) ([]byte, error) {
		switch a[0] {
		case "info":
			if images[a[1]] {
				return []byte(`{"name":"x","size":1073741824,"objects":256,"order":22}`), nil
			}
			return nil, &CmdError{Cmd: "rbd info", ExitCode: 2, Stderr: "rbd: error opening image x: (2) No such file or directory"}
		case "create":
			images[a[1]] = true
		case "rm":
			if !images[a[1]] {
				return nil, &CmdError{Cmd: "rbd rm", ExitCode: 2, Stderr: "rbd: delete error: (2) No such file or directory"}
			}
			delete(images, a[1])
		}
		return nil, nil
	}
	s := NewRBDController(testClusters, Ceph{Runner: f, KeysDir: t.TempDir()})
	secret := map[string]string{"userID": "csi-rbd-provisioner", "userKey": testKey}
	req := &csi.CreateVolumeRequest{
		Name: "pvc-9", VolumeCapabilities: mountCap[:0], Secrets: secret,
		Parameters: map[string]string{"clusterID": "rook-ceph", "pool": "ceph-blockpool", "imageFormat": "2", "imageFeatures": "layering",
			"csi.storage.k8s.io/fstype": "ext4"},
	}
	req.VolumeCapabilities = blockCap
	ctx := context.Background()
	r, err := s.CreateVolume(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	img := VolumeName("pvc-9")
	if r.GetVolume().GetVolumeId() != "rbd-lite1:rook-ceph:ceph-blockpool::"+img || r.GetVolume().GetCapacityBytes() != 1<<30 ||
		r.GetVolume().GetVolumeContext()["imageName"] != img {
		t.Errorf("volume %v", r.GetVolume())
	}
	if f.called("rbd create ceph-blockpool/"+img+" --size 1024 --image-feature layering") != 1 {
		t.Errorf("calls %v", f.calls)
	}
	if _, err := s.CreateVolume(ctx, req); err != nil || f.called("rbd create") != 1 {
		t.Errorf("retry: %v %v", err, f.calls)
	}
	// asking for more than the existing image has is a conflict
	req.CapacityRange = &csi.CapacityRange{RequiredBytes: 5 << 30}
	if _, err := s.CreateVolume(ctx, req); status.Code(err) != codes.AlreadyExists {
		t.Errorf("bigger retry: %v", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: r.GetVolume().GetVolumeId(), Secrets: secret}); err != nil {
			t.Errorf("delete %d: %v", i, err)
		}
	}
	if len(images) != 0 || f.called("rbd rm ceph-blockpool/"+img+" --no-progress") != 2 {
		t.Errorf("images %v, calls %v", images, f.calls)
	}
	r3, err := s.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: "rbd-lite1:rook-ceph:ceph-blockpool::" + img,
		CapacityRange: &csi.CapacityRange{RequiredBytes: 3 << 30}, Secrets: secret, VolumeCapability: mountCap[0]})
	if err != nil || r3.GetCapacityBytes() != 3<<30 || !r3.GetNodeExpansionRequired() ||
		f.called("rbd resize ceph-blockpool/"+img+" --size 3072 --no-progress") != 1 {
		t.Errorf("expand: %v %v %v", r3, err, f.calls)
	}
	// sizes round up to MiB
	req.Name, req.CapacityRange = "pvc-10", &csi.CapacityRange{RequiredBytes: 1<<20 + 1}
	if r, err := s.CreateVolume(ctx, req); err != nil || r.GetVolume().GetCapacityBytes() != 2<<20 {
		t.Errorf("rounding: %v %v", r, err)
	}
	f.checkKeyFilesGone()
}

func TestRBDNodeDoesNotAttach(t *testing.T) {
	s := NewRBDNode("node1", newFakeMounts())
	_, err := s.NodeStageVolume(context.Background(), &csi.NodeStageVolumeRequest{VolumeId: "rbd-lite1:a:b::c"})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "does not attach") {
		t.Errorf("stage: %v", err)
	}
	if _, err := s.NodeUnstageVolume(context.Background(), &csi.NodeUnstageVolumeRequest{VolumeId: "x", StagingTargetPath: t.TempDir()}); err != nil {
		t.Errorf("unstage: %v", err)
	}
	info, _ := s.NodeGetInfo(context.Background(), nil)
	if info.GetNodeId() != "node1" {
		t.Errorf("node id %v", info)
	}
}
