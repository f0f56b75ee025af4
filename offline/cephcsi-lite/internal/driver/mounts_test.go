package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const mountinfo = `22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw
410 22 0:55 / /var/lib/kubelet/plugins/kubernetes.io/csi/rook-ceph.cephfs.csi.ceph.com/1f0e/globalmount rw,nosuid,nodev,relatime shared:200 - fuse.ceph-fuse ceph-fuse rw,user_id=0,group_id=0,allow_other
411 22 0:55 / /var/lib/kubelet/pods/7c1d/volumes/kubernetes.io~csi/pvc-1/mount rw,relatime shared:200 - fuse.ceph-fuse ceph-fuse rw
412 22 0:56 / /mnt/with\040space rw - tmpfs tmpfs rw
`

func TestParseMountInfo(t *testing.T) {
	points, err := ParseMountInfo(strings.NewReader(mountinfo))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/var/lib/kubelet/plugins/kubernetes.io/csi/rook-ceph.cephfs.csi.ceph.com/1f0e/globalmount",
		"/var/lib/kubelet/pods/7c1d/volumes/kubernetes.io~csi/pvc-1/mount", "/mnt/with space"} {
		if !points[p] {
			t.Errorf("%s missing", p)
		}
	}
	if len(points) != 4 {
		t.Errorf("%v", points)
	}
}

func TestSysMounterState(t *testing.T) {
	dir := t.TempDir()
	mi := filepath.Join(dir, "mountinfo")
	staged := filepath.Join(dir, "globalmount")
	_ = os.MkdirAll(staged, 0o755)
	line := "410 22 0:55 / " + staged + " rw - fuse.ceph-fuse ceph-fuse rw\n"
	if err := os.WriteFile(mi, []byte(mountinfo+line), 0o644); err != nil {
		t.Fatal(err)
	}
	m := SysMounter{MountInfo: mi}
	if s, err := m.State(staged + "/"); err != nil || s != Mounted {
		t.Errorf("staged: %v %v", s, err)
	}
	if s, err := m.State(filepath.Join(dir, "other")); err != nil || s != NotMounted {
		t.Errorf("other: %v %v", s, err)
	}
}
