package driver

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var mountCap = []*csi.VolumeCapability{{
	AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
	AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER},
}}

var blockCap = []*csi.VolumeCapability{{
	AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
	AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
}}

// fakeCephFS answers the ceph fs subvolume commands from a map of subvolume paths.
func fakeCephFS(t *testing.T) (*fakeRunner, map[string]string) {
	subvols := map[string]string{}
	f := &fakeRunner{t: t}
	f.handle = func(name string, a []string) ([]byte, error) {
		cmd := strings.Join(a, " ")
		switch {
		case strings.HasPrefix(cmd, "fs subvolume getpath "):
			if p, ok := subvols[a[4]]; ok {
				return []byte(p + "\n"), nil
			}
			return nil, notFound("subvolume " + a[4])
		case strings.HasPrefix(cmd, "fs subvolumegroup create "):
			return nil, nil
		case strings.HasPrefix(cmd, "fs subvolume create "):
			subvols[a[4]] = "/volumes/" + a[6] + "/" + a[4] + "/0f1e"
			return nil, nil
		case strings.HasPrefix(cmd, "fs subvolume rm "):
			if _, ok := subvols[a[4]]; !ok {
				return nil, notFound("subvolume " + a[4])
			}
			delete(subvols, a[4])
			return nil, nil
		case strings.HasPrefix(cmd, "fs subvolume resize "):
			return nil, nil
		}
		t.Errorf("unexpected command %s %s", name, cmd)
		return nil, nil
	}
	return f, subvols
}

var provisionerSecret = map[string]string{"adminID": "csi-cephfs-provisioner", "adminKey": testKey}

func cephfsCreate(name string) *csi.CreateVolumeRequest {
	return &csi.CreateVolumeRequest{
		Name:               name,
		CapacityRange:      &csi.CapacityRange{RequiredBytes: 1 << 30},
		VolumeCapabilities: mountCap,
		Parameters: map[string]string{"clusterID": "rook-ceph", "fsName": "ceph-filesystem", "pool": "ceph-filesystem-data0",
			"csi.storage.k8s.io/provisioner-secret-name": "rook-csi-cephfs-provisioner", "csi.storage.k8s.io/pvc/name": "data"},
		Secrets: provisionerSecret,
	}
}

func TestCephFSCreateIsIdempotent(t *testing.T) {
	f, subvols := fakeCephFS(t)
	s := NewCephFSController(testClusters, Ceph{Runner: f, KeysDir: t.TempDir()})
	ctx := context.Background()
	r1, err := s.CreateVolume(ctx, cephfsCreate("pvc-1"))
	if err != nil {
		t.Fatal(err)
	}
	v := r1.GetVolume()
	name := VolumeName("pvc-1")
	if v.GetVolumeId() != "cephfs-lite1:rook-ceph:ceph-filesystem:csi:"+name || v.GetCapacityBytes() != 1<<30 {
		t.Errorf("volume %v", v)
	}
	vc := v.GetVolumeContext()
	if vc["subvolumePath"] != "/volumes/csi/"+name+"/0f1e" || vc["subvolumeName"] != name || vc["fsName"] != "ceph-filesystem" ||
		vc["clusterID"] != "rook-ceph" || vc["csi.storage.k8s.io/pvc/name"] != "" {
		t.Errorf("volume context %v", vc)
	}
	want := "ceph fs subvolume create ceph-filesystem " + name + " --group_name csi --size 1073741824 --pool_layout ceph-filesystem-data0"
	if f.called(want) != 1 || f.called("ceph fs subvolumegroup create ceph-filesystem csi") != 1 {
		t.Errorf("calls %v", f.calls)
	}
	// the provisioner retries (e.g. after a timeout): same volume, no second subvolume
	r2, err := s.CreateVolume(ctx, cephfsCreate("pvc-1"))
	if err != nil || r2.GetVolume().GetVolumeId() != v.GetVolumeId() {
		t.Errorf("retry: %v %v", r2, err)
	}
	if f.called("ceph fs subvolume create") != 1 || len(subvols) != 1 {
		t.Errorf("a retry created again: %v", f.calls)
	}
	if _, err := s.CreateVolume(ctx, cephfsCreate("pvc-2")); err != nil || len(subvols) != 2 {
		t.Errorf("second claim: %v %v", subvols, err)
	}

	if _, err := s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: v.GetVolumeId(), Secrets: provisionerSecret}); err != nil {
		t.Fatal(err)
	}
	if f.called("ceph fs subvolume rm ceph-filesystem "+name+" --group_name csi --force") != 1 || len(subvols) != 1 {
		t.Errorf("delete: %v", f.calls)
	}
	// deleting again: not found is success
	if _, err := s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: v.GetVolumeId(), Secrets: provisionerSecret}); err != nil {
		t.Errorf("second delete: %v", err)
	}
	// an upstream ceph-csi volume is refused, not silently "deleted"
	_, err = s.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "0001-0009-rook-ceph-0000000000000001-5a1c5d0e", Secrets: provisionerSecret})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("upstream ID: %v", err)
	}
	r, err := s.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{VolumeId: "cephfs-lite1:rook-ceph:ceph-filesystem:csi:" + VolumeName("pvc-2"),
		CapacityRange: &csi.CapacityRange{RequiredBytes: 2 << 30}, Secrets: provisionerSecret})
	if err != nil || r.GetCapacityBytes() != 2<<30 || r.GetNodeExpansionRequired() ||
		f.called("ceph fs subvolume resize ceph-filesystem "+VolumeName("pvc-2")+" 2147483648 --group_name csi --no_shrink") != 1 {
		t.Errorf("expand: %v %v %v", r, err, f.calls)
	}
	f.checkKeyFilesGone()
}

func TestCephFSCreateRefuses(t *testing.T) {
	f, _ := fakeCephFS(t)
	s := NewCephFSController(testClusters, Ceph{Runner: f, KeysDir: t.TempDir()})
	for what, mutate := range map[string]func(*csi.CreateVolumeRequest){
		"block":      func(r *csi.CreateVolumeRequest) { r.VolumeCapabilities = blockCap },
		"no fsName":  func(r *csi.CreateVolumeRequest) { delete(r.Parameters, "fsName") },
		"no cluster": func(r *csi.CreateVolumeRequest) { r.Parameters["clusterID"] = "other" },
		"no secret":  func(r *csi.CreateVolumeRequest) { r.Secrets = map[string]string{"userID": "x"} },
		"clone": func(r *csi.CreateVolumeRequest) {
			r.VolumeContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: "x"}}}
		},
	} {
		r := cephfsCreate("pvc-x")
		mutate(r)
		if _, err := s.CreateVolume(context.Background(), r); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v", what, err)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("refused requests ran %v", f.calls)
	}
	v, _ := s.ValidateVolumeCapabilities(context.Background(), &csi.ValidateVolumeCapabilitiesRequest{VolumeId: "cephfs-lite1:a:b:c:d", VolumeCapabilities: blockCap})
	if v.GetConfirmed() != nil {
		t.Error("block confirmed for CephFS")
	}
	v, _ = s.ValidateVolumeCapabilities(context.Background(), &csi.ValidateVolumeCapabilitiesRequest{VolumeId: "cephfs-lite1:a:b:c:d", VolumeCapabilities: mountCap})
	if v.GetConfirmed() == nil {
		t.Error("RWX mount not confirmed")
	}
}

func stageReq(dir string, vc map[string]string) *csi.NodeStageVolumeRequest {
	return &csi.NodeStageVolumeRequest{
		VolumeId:          "cephfs-lite1:rook-ceph:ceph-filesystem:csi:" + VolumeName("pvc-1"),
		StagingTargetPath: filepath.Join(dir, "globalmount"),
		VolumeCapability:  mountCap[0],
		VolumeContext:     vc,
		Secrets:           map[string]string{"adminID": "csi-cephfs-node", "adminKey": testKey},
	}
}

func TestCephFSNodeMountDecisions(t *testing.T) {
	mounts := newFakeMounts()
	f := &fakeRunner{t: t}
	f.handle = func(name string, a []string) ([]byte, error) {
		if name == "ceph-fuse" {
			mounts.set(a[0], Mounted)
		}
		return nil, nil
	}
	s := NewCephFSNode("node1", mounts, testClusters, Ceph{Runner: f, KeysDir: t.TempDir()}, "")
	ctx := context.Background()
	dir := t.TempDir()
	vc := map[string]string{"clusterID": "rook-ceph", "fsName": "ceph-filesystem", "subvolumePath": "/volumes/csi/v/0f1e", "mounter": "fuse"}
	req := stageReq(dir, vc)
	staging := req.StagingTargetPath

	for i := 0; i < 2; i++ { // the second stage finds the mount and does nothing
		if _, err := s.NodeStageVolume(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	want := "ceph-fuse " + staging + " -r /volumes/csi/v/0f1e --client_fs ceph-filesystem"
	if len(f.calls) != 1 || f.calls[0] != want {
		t.Errorf("calls %v, want [%s]", f.calls, want)
	}
	// ceph-fuse died (the plugin restarted): unmount the dead mount, mount again
	mounts.set(staging, Broken)
	if _, err := s.NodeStageVolume(ctx, req); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 2 || len(mounts.umounts) != 1 || mounts.umounts[0] != staging+" (lazy)" {
		t.Errorf("remount: calls %v, umounts %v", f.calls, mounts.umounts)
	}

	target := filepath.Join(dir, "pods", "mount")
	pub := &csi.NodePublishVolumeRequest{VolumeId: req.VolumeId, StagingTargetPath: staging, TargetPath: target, VolumeCapability: mountCap[0]}
	for i := 0; i < 2; i++ {
		if _, err := s.NodePublishVolume(ctx, pub); err != nil {
			t.Fatal(err)
		}
	}
	if mounts.binds != 1 {
		t.Errorf("%d bind mounts for two publishes", mounts.binds)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: req.VolumeId, TargetPath: target}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: req.VolumeId, StagingTargetPath: staging}); err != nil {
			t.Fatal(err)
		}
	}
	if len(mounts.umounts) != 3 || mounts.umounts[1] != target || mounts.umounts[2] != staging {
		t.Errorf("umounts %v", mounts.umounts)
	}
	// publishing before staging is a precondition failure, not a bind of an empty directory
	if _, err := s.NodePublishVolume(ctx, pub); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("publish unstaged: %v", err)
	}
	f.checkKeyFilesGone()
}

func TestCephFSNodeRefusesKernelMounter(t *testing.T) {
	f := &fakeRunner{t: t}
	s := NewCephFSNode("node1", newFakeMounts(), testClusters, Ceph{Runner: f, KeysDir: t.TempDir()}, "")
	_, err := s.NodeStageVolume(context.Background(), stageReq(t.TempDir(), map[string]string{"clusterID": "rook-ceph", "fsName": "fs", "subvolumePath": "/v", "mounter": "kernel"}))
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "ceph-fuse") {
		t.Errorf("kernel mounter: %v", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("ran %v", f.calls)
	}
}

func TestCephFSNodeOptionsAndPath(t *testing.T) {
	mounts := newFakeMounts()
	f := &fakeRunner{t: t}
	f.handle = func(name string, a []string) ([]byte, error) {
		switch name {
		case "ceph":
			return []byte("/volumes/csi/" + a[4] + "/9a9a\n"), nil
		case "ceph-fuse":
			mounts.set(a[0], Mounted)
		}
		return nil, nil
	}
	s := NewCephFSNode("node1", mounts, testClusters, Ceph{Runner: f, KeysDir: t.TempDir()}, "")
	// no subvolumePath in the context (a PV made by hand): the node asks Ceph; no mounter: fuse
	req := stageReq(t.TempDir(), map[string]string{"clusterID": "rook-ceph", "fsName": "ceph-filesystem", "fuseMountOptions": "allow_other"})
	if _, err := s.NodeStageVolume(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	name := VolumeName("pvc-1")
	if len(f.calls) != 2 || f.calls[0] != "ceph fs subvolume getpath ceph-filesystem "+name+" --group_name csi" ||
		f.calls[1] != "ceph-fuse "+req.StagingTargetPath+" -r /volumes/csi/"+name+"/9a9a --client_fs ceph-filesystem -o allow_other" {
		t.Errorf("calls %v", f.calls)
	}
}
