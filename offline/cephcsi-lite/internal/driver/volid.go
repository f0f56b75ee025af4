package driver

import (
	"crypto/sha1"
	"fmt"
	"strings"
)

// Volume IDs are "<kind>:<fields joined by ':'>", e.g.
//
//	cephfs-lite1:rook-ceph:ceph-filesystem:csi:csi-vol-1b4e28ba-2fa1-51d2-883f-0016d3cca427
//	rbd-lite1:rook-ceph:ceph-blockpool::csi-vol-1b4e28ba-2fa1-51d2-883f-0016d3cca427
//
// They carry everything DeleteVolume needs, so no OMAP journal is kept. Upstream ceph-csi's IDs
// ("0001-0009-rook-ceph-...") are not understood: this stand-in refuses them rather than guess.
const (
	cephfsIDPrefix = "cephfs-lite1"
	rbdIDPrefix    = "rbd-lite1"
	maxVolumeID    = 128 // CSI: plugins should keep IDs within 128 bytes
)

// CephFSVolume identifies a subvolume.
type CephFSVolume struct{ ClusterID, FsName, Group, Subvolume string }

// RBDVolume identifies an image; RadosNamespace is usually empty.
type RBDVolume struct{ ClusterID, Pool, RadosNamespace, Image string }

func encodeID(prefix string, fields ...string) (string, error) {
	for _, f := range fields {
		if strings.ContainsAny(f, ":/ ") {
			return "", fmt.Errorf("%q cannot be part of a volume ID (it contains ':', '/' or a space)", f)
		}
	}
	id := prefix + ":" + strings.Join(fields, ":")
	if len(id) > maxVolumeID {
		return "", fmt.Errorf("volume ID %q is longer than %d bytes", id, maxVolumeID)
	}
	return id, nil
}

func decodeID(prefix, id string, n int) ([]string, error) {
	parts := strings.Split(id, ":")
	if len(parts) != n+1 || parts[0] != prefix {
		return nil, fmt.Errorf("volume ID %q was not made by cephcsi-lite (%s:...); upstream ceph-csi's volumes cannot be handled by this stand-in", id, prefix)
	}
	return parts[1:], nil
}

func (v CephFSVolume) ID() (string, error) {
	if v.ClusterID == "" || v.FsName == "" || v.Group == "" || v.Subvolume == "" {
		return "", fmt.Errorf("incomplete CephFS volume %+v", v)
	}
	return encodeID(cephfsIDPrefix, v.ClusterID, v.FsName, v.Group, v.Subvolume)
}

func ParseCephFSVolumeID(id string) (CephFSVolume, error) {
	f, err := decodeID(cephfsIDPrefix, id, 4)
	if err != nil {
		return CephFSVolume{}, err
	}
	v := CephFSVolume{f[0], f[1], f[2], f[3]}
	if v.ClusterID == "" || v.FsName == "" || v.Group == "" || v.Subvolume == "" {
		return CephFSVolume{}, fmt.Errorf("volume ID %q has an empty field", id)
	}
	return v, nil
}

func (v RBDVolume) ID() (string, error) {
	if v.ClusterID == "" || v.Pool == "" || v.Image == "" {
		return "", fmt.Errorf("incomplete RBD volume %+v", v)
	}
	return encodeID(rbdIDPrefix, v.ClusterID, v.Pool, v.RadosNamespace, v.Image)
}

func ParseRBDVolumeID(id string) (RBDVolume, error) {
	f, err := decodeID(rbdIDPrefix, id, 4)
	if err != nil {
		return RBDVolume{}, err
	}
	v := RBDVolume{f[0], f[1], f[2], f[3]}
	if v.ClusterID == "" || v.Pool == "" || v.Image == "" {
		return RBDVolume{}, fmt.Errorf("volume ID %q has an empty field", id)
	}
	return v, nil
}

// ImageSpec is the rbd CLI's pool[/namespace]/image.
func (v RBDVolume) ImageSpec() string {
	if v.RadosNamespace != "" {
		return v.Pool + "/" + v.RadosNamespace + "/" + v.Image
	}
	return v.Pool + "/" + v.Image
}

// nameSpace is the UUID namespace of volume names (a fixed random UUID).
var nameSpace = [16]byte{0x6c, 0x1e, 0x2f, 0x52, 0x8c, 0x4b, 0x4e, 0x0b, 0x9d, 0x55, 0x2a, 0x61, 0x0f, 0x8e, 0x3b, 0x70}

// VolumeName derives the subvolume or image name from the CSI request name (the external
// provisioner's "pvc-<uid>"): "csi-vol-" and a version 5 UUID of that name. A retried CreateVolume
// gets the same name, so it finds the volume it made before instead of making a second one.
// Upstream ceph-csi uses random UUIDs and remembers them in an OMAP journal instead.
func VolumeName(requestName string) string {
	h := sha1.New()
	h.Write(nameSpace[:])
	h.Write([]byte(requestName))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("csi-vol-%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
