package driver

import (
	"os"
	"path/filepath"
	"testing"
)

// As Rook v1.17.8 writes it (cluster_config.go): the cluster's own entry, and one that a
// CephFilesystemSubVolumeGroup adds.
const rookConfig = `[{"clusterID":"rook-ceph","monitors":["10.96.0.11:6789","10.96.0.12:6789","10.96.0.13:6789"],
 "cephFS":{"netNamespaceFilePath":"","subvolumeGroup":"","radosNamespace":"","kernelMountOptions":"","fuseMountOptions":""},
 "rbd":{"netNamespaceFilePath":"","radosNamespace":"","mirrorDaemonCount":0},"nfs":{"netNamespaceFilePath":""},
 "readAffinity":{"enabled":false,"crushLocationLabels":null},"namespace":"rook-ceph"},
 {"clusterID":"4f1ab9d3","monitors":["10.96.0.11:6789"],"cephFS":{"subvolumeGroup":"group-a","fuseMountOptions":"debug"},
 "rbd":{"radosNamespace":"ns-a"},"namespace":"rook-ceph"}]`

func TestClusterConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(rookConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	c := ClusterConfig{Path: p}
	e, mons, err := c.Lookup("rook-ceph")
	if err != nil {
		t.Fatal(err)
	}
	if mons != "10.96.0.11:6789,10.96.0.12:6789,10.96.0.13:6789" || e.CephFS.SubvolumeGroup != "csi" || e.Namespace != "rook-ceph" {
		t.Errorf("rook-ceph: %q %+v", mons, e)
	}
	e, mons, err = c.Lookup("4f1ab9d3")
	if err != nil || mons != "10.96.0.11:6789" || e.CephFS.SubvolumeGroup != "group-a" || e.RBD.RadosNamespace != "ns-a" || e.CephFS.FuseMountOptions != "debug" {
		t.Errorf("4f1ab9d3: %q %+v %v", mons, e, err)
	}
	for _, id := range []string{"other", ""} {
		if _, _, err := c.Lookup(id); err == nil {
			t.Errorf("cluster %q found", id)
		}
	}
	if _, _, err := FindCluster([]ClusterEntry{{ClusterID: "x"}}, "x"); err == nil {
		t.Error("a cluster without monitors was accepted")
	}
	if _, err := ParseClusterConfig([]byte(`{"clusterID":"x"}`)); err == nil {
		t.Error("an object instead of a list was accepted")
	}
	if entries, err := ParseClusterConfig([]byte(`[]`)); err != nil || len(entries) != 0 {
		t.Errorf("Rook's initial []: %v %v", entries, err)
	}
	if _, _, err := (ClusterConfig{Path: filepath.Join(t.TempDir(), "none")}).Lookup("x"); err == nil {
		t.Error("a missing file was accepted")
	}
}
