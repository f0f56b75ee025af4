package driver

import (
	"regexp"
	"strings"
	"testing"
)

const pinnedName = "csi-vol-5409504d-96d9-53bf-aa63-16fad36981ba"

func TestVolumeName(t *testing.T) {
	a := VolumeName("pvc-0f2a3c4e-1111-4222-8333-944455556666")
	if a != VolumeName("pvc-0f2a3c4e-1111-4222-8333-944455556666") {
		t.Error("not deterministic")
	}
	if a == VolumeName("pvc-0f2a3c4e-1111-4222-8333-944455556667") {
		t.Error("two request names gave one volume name")
	}
	if !regexp.MustCompile(`^csi-vol-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a) {
		t.Errorf("%q is not csi-vol-<version 5 UUID>", a)
	}
	// pinned: a change would orphan every existing volume on a retried CreateVolume
	if got := VolumeName("pvc-1"); got != pinnedName {
		t.Errorf("VolumeName(pvc-1) = %s, was %s", got, pinnedName)
	}
}

func TestCephFSVolumeID(t *testing.T) {
	v := CephFSVolume{"rook-ceph", "ceph-filesystem", "csi", VolumeName("pvc-1")}
	id, err := v.ID()
	if err != nil {
		t.Fatal(err)
	}
	if id != "cephfs-lite1:rook-ceph:ceph-filesystem:csi:"+pinnedName {
		t.Errorf("id %s", id)
	}
	back, err := ParseCephFSVolumeID(id)
	if err != nil || back != v {
		t.Errorf("round trip: %+v %v", back, err)
	}
	for _, bad := range []string{
		"0001-0009-rook-ceph-0000000000000001-5a1c5d0e-3b9e-11ee-a1c2-0242ac110003", // upstream ceph-csi
		"cephfs-lite1:rook-ceph:fs:csi", "cephfs-lite1:rook-ceph:fs::x", "rbd-lite1:a:b:c:d", "",
	} {
		if _, err := ParseCephFSVolumeID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := (CephFSVolume{"a:b", "fs", "csi", "x"}).ID(); err == nil {
		t.Error("':' in a field accepted")
	}
	if _, err := (CephFSVolume{strings.Repeat("c", 100), "fs", "csi", VolumeName("x")}).ID(); err == nil {
		t.Error("an ID over 128 bytes accepted")
	}
}

func TestRBDVolumeID(t *testing.T) {
	for _, v := range []RBDVolume{{"rook-ceph", "ceph-blockpool", "", "csi-vol-x"}, {"c", "p", "ns", "img"}} {
		id, err := v.ID()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseRBDVolumeID(id)
		if err != nil || back != v {
			t.Errorf("%s: %+v %v", id, back, err)
		}
	}
	if s := (RBDVolume{"c", "p", "ns", "img"}).ImageSpec(); s != "p/ns/img" {
		t.Errorf("spec %s", s)
	}
	if s := (RBDVolume{"c", "p", "", "img"}).ImageSpec(); s != "p/img" {
		t.Errorf("spec %s", s)
	}
	if _, err := ParseRBDVolumeID("cephfs-lite1:a:b:c:d"); err == nil {
		t.Error("a CephFS ID parsed as RBD")
	}
}
