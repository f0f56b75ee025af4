// cephcsi-lite: homelab's stand-in for quay.io/cephcsi/cephcsi and csi-node-driver-registrar
// (scripts/build-offline-cephcsi-lite.sh, docs/offline.md "ceph-csi stand-in (cephcsi-lite)").
module homelab/offline/cephcsi-lite

go 1.26.0

require (
	github.com/container-storage-interface/spec v1.12.0
	google.golang.org/grpc v1.82.1
	google.golang.org/protobuf v1.36.12-0.20260120151049-f2248ac996af
	k8s.io/kubelet v0.37.2
)

require (
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.40.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260526163538-3dc84a4a5aaa // indirect
)
