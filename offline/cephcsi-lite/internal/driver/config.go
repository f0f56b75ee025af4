package driver

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// ClusterEntry is one element of the cluster config that Rook writes into the ConfigMap
// rook-ceph-csi-config (key csi-cluster-config-json), mounted at /etc/ceph-csi-config/config.json.
// The format is ceph-csi's ClusterInfo (github.com/ceph/ceph-csi/api deploy/kubernetes) plus Rook's
// "namespace"; fields this stand-in does not use are not declared.
type ClusterEntry struct {
	ClusterID string   `json:"clusterID"`
	Monitors  []string `json:"monitors"`
	Namespace string   `json:"namespace"`
	CephFS    struct {
		SubvolumeGroup   string `json:"subvolumeGroup"`
		FuseMountOptions string `json:"fuseMountOptions"`
	} `json:"cephFS"`
	RBD struct {
		RadosNamespace string `json:"radosNamespace"`
	} `json:"rbd"`
}

// DefaultSubvolumeGroup is ceph-csi's group when the config names none.
const DefaultSubvolumeGroup = "csi"

// ParseClusterConfig parses config.json.
func ParseClusterConfig(data []byte) ([]ClusterEntry, error) {
	var entries []ClusterEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("cluster config: %w", err)
	}
	return entries, nil
}

// ClusterConfig finds clusters by ID in a config file, read again on every lookup: Rook rewrites
// the ConfigMap when mons move, and the kubelet updates the mounted file.
type ClusterConfig struct{ Path string }

// Lookup returns the entry for clusterID, with the monitors joined for "-m".
func (c ClusterConfig) Lookup(clusterID string) (ClusterEntry, string, error) {
	if clusterID == "" {
		return ClusterEntry{}, "", fmt.Errorf("no clusterID (a StorageClass parameter)")
	}
	data, err := os.ReadFile(c.Path)
	if err != nil {
		return ClusterEntry{}, "", fmt.Errorf("reading the cluster config: %w", err)
	}
	entries, err := ParseClusterConfig(data)
	if err != nil {
		return ClusterEntry{}, "", err
	}
	return FindCluster(entries, clusterID)
}

// FindCluster picks clusterID's entry and joins its monitors ("10.0.0.1:6789,10.0.0.2:6789").
func FindCluster(entries []ClusterEntry, clusterID string) (ClusterEntry, string, error) {
	for _, e := range entries {
		if e.ClusterID != clusterID {
			continue
		}
		if len(e.Monitors) == 0 {
			return e, "", fmt.Errorf("cluster %q has no monitors in the cluster config", clusterID)
		}
		if e.CephFS.SubvolumeGroup == "" {
			e.CephFS.SubvolumeGroup = DefaultSubvolumeGroup
		}
		return e, strings.Join(e.Monitors, ","), nil
	}
	return ClusterEntry{}, "", fmt.Errorf("cluster %q is not in the cluster config", clusterID)
}
