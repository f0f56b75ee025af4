// Pure renderers for RookCeph: the operator bundle and the settings it needs,
// the Ceph custom resources and storage classes (plain objects), and the wait script.
// What runs on destroy is in ./teardown.
import * as YAML from "yaml";
import { KUBECTL_FUNCTION } from "../kubectl";
import { KubernetesObject, ManifestBundle, ManifestFile, manifestSourceProblems, ManifestSource } from "../manifests/render";
import { ArgProblem } from "../problems";
import { script, shellQuote } from "../script";
import { plainVersion } from "../version";
import { FSID_LINE_PREFIX } from "./disks";

export type CephfsMounter = "kernel" | "fuse";

export interface RookSpec {
    /** Rook version, pinned, e.g. 1.17.8. */
    rookVersion: string;
    /** Ceph image, pinned, e.g. quay.io/ceph/ceph:v19.2.3. */
    cephImage: string;
    /** Replicas of every pool, one per host, e.g. 3. */
    poolSize: number;
    /**
     * Nodes and the whole disks Ceph may wipe and take, and which are Kubernetes control planes, e.g.
     * [{ hostname: "home-server-1", osdDevices: ["/dev/sdb"], controlPlane: true }].
     */
    nodes: { hostname: string; osdDevices: string[]; controlPlane?: boolean }[];
    /** Name of the RBD storage class, e.g. ceph-block. */
    blockStorageClass: string;
    /** Name of the CephFS storage class, e.g. ceph-filesystem. */
    filesystemStorageClass: string;
    /** Loop devices as OSDs, e.g. true in a test lab only. */
    allowLoopDevices: boolean;
    /** How pods mount CephFS, e.g. { cephfsMounter: "fuse" } where the kernel has no ceph module. */
    csi: { cephfsMounter: CephfsMounter };
    /** On destroy Rook wipes the OSD disks and dataDirHostPath on every node, e.g. true in a lab. */
    wipeDisksOnDestroy: boolean;
    /** Seconds the operator lets each ceph command run, e.g. 15 (Rook's default); a failed command makes Rook retry its whole step minutes later. */
    cephCommandsTimeoutSeconds?: number;
    /** Minutes the wait step gives Ceph to become healthy, by the clock, e.g. 20; three machines sharing two cores needed 22. */
    healthTimeoutMinutes?: number;
    /** Ceph daemons' liveness probes (and the timing of their startup probes), e.g. { timeoutSeconds: 30, periodSeconds: 60, failureThreshold: 5 }; absent: Rook's (5 s, every 10 s, 3 misses). */
    daemonProbes?: DaemonProbes;
    /** Ceph's Prometheus metrics; false where the Ceph image has no ceph-exporter (Debian's packages build none). */
    metrics?: boolean;
    /** Ceph options by section, e.g. { global: { osd_memory_target: "1073741824" } }; Rook sets them in the monitors' config database. */
    cephConfig?: Record<string, Record<string, string>>;
}

export interface DaemonProbes {
    timeoutSeconds: number;
    periodSeconds: number;
    failureThreshold: number;
}

/**
 * Rook keeps each probe's command and takes these fields over its own. The startup probes (mons,
 * mgr and OSDs; the MDS has none) keep Rook's per-daemon failure counts (an OSD gets two hours to
 * scrub at start), only their timing.
 */
function probeOverrides(probes: DaemonProbes | undefined) {
    if (probes === undefined) return undefined;
    const { timeoutSeconds, periodSeconds, failureThreshold } = probes;
    return { liveness: { probe: { timeoutSeconds, periodSeconds, failureThreshold } }, startup: { probe: { timeoutSeconds, periodSeconds } } };
}

export interface StorageClassObject {
    apiVersion: "storage.k8s.io/v1";
    kind: "StorageClass";
    metadata: { name: string };
    provisioner: string;
    parameters: Record<string, string>;
    reclaimPolicy: "Delete";
    allowVolumeExpansion: boolean;
}

export interface RookResources {
    cluster: KubernetesObject;
    blockPool: KubernetesObject;
    filesystem: KubernetesObject;
    blockStorageClass: StorageClassObject;
    filesystemStorageClass: StorageClassObject;
}

export const NAMESPACE = "rook-ceph";
export const CLUSTER_NAME = "rook-ceph";
export const BLOCK_POOL = "ceph-blockpool";
export const FILESYSTEM = "ceph-filesystem";
/** Where Rook keeps the mons' stores and its own state on every node. */
export const DATA_DIR_HOST_PATH = "/var/lib/rook";
const DATA_POOL = "data0";
export const ROOK_BUNDLE_FILES = ["crds.yaml", "common.yaml", "operator.yaml"];
export const HEALTH_TIMEOUT_MINUTES = 20;
/** Seconds between two looks at the cluster in the scripts that wait on it. */
export const WAIT_SECONDS = 10;

export function upstreamManifestBase(rookVersion: string): string {
    return `https://raw.githubusercontent.com/rook/rook/v${plainVersion(rookVersion)}/deploy/examples/`;
}

/** Keys of the rook-ceph-operator-config ConfigMap that this program owns. */
export function operatorSettings(spec: RookSpec): Record<string, string> {
    return {
        ROOK_CEPH_ALLOW_LOOP_DEVICES: String(spec.allowLoopDevices),
        // Rook deploys the CSI drivers itself; the separate ceph-csi-operator is not in the bundle
        ROOK_USE_CSI_OPERATOR: "false",
        // the storage class picks the CephFS mounter; this keeps the kernel client from being forced
        CSI_FORCE_CEPHFS_KERNEL_CLIENT: String(spec.csi.cephfsMounter === "kernel"),
        // the snapshot sidecars need the VolumeSnapshot CRDs and controller, which this program does not install
        CSI_ENABLE_RBD_SNAPSHOTTER: "false",
        CSI_ENABLE_CEPHFS_SNAPSHOTTER: "false",
        ROOK_CEPH_COMMANDS_TIMEOUT_SECONDS: String(spec.cephCommandsTimeoutSeconds ?? 15),
    };
}

export function rookBundle(spec: RookSpec, files: ManifestFile[]): ManifestBundle {
    const patch = JSON.stringify({ data: operatorSettings(spec) });
    return {
        id: "rook",
        version: plainVersion(spec.rookVersion),
        files,
        operator: { namespace: NAMESPACE, deployment: "rook-ceph-operator" },
        afterApply: `# operator settings this program owns; an apply of the bundle resets them, so set them after every apply
kc -n ${NAMESPACE} patch configmap rook-ceph-operator-config --type merge -p ${shellQuote(patch)} >/dev/null
echo "rook operator settings: ${Object.entries(operatorSettings(spec)).map(([key, value]) => `${key}=${value}`).join(" ")}"`,
    };
}

export function osdNodes(spec: Pick<RookSpec, "nodes">): RookSpec["nodes"] {
    return spec.nodes.filter((node) => node.osdDevices.length > 0);
}

/** What keeps Ceph from ever becoming healthy: fewer hosts with OSD disks than replicas, one per host. */
export function rookSpecProblems(spec: Pick<RookSpec, "nodes" | "poolSize">): ArgProblem[] {
    const hosts = osdNodes(spec).length;
    if (hosts >= spec.poolSize) return [];
    return [{ arg: "poolSize", value: spec.poolSize, message: `needs at least ${spec.poolSize} nodes with OSD disks (one replica per host), but ${hosts} have any; add OSD disks to more nodes or lower it` }];
}

/** Where Rook's bundle can come from: a mirror serves it, so manifests must not name another source as well. */
export function rookSourceProblems(args: { mirror?: string; manifests: ManifestSource }): ArgProblem[] {
    const problems = manifestSourceProblems(args.manifests);
    if (args.mirror && (args.manifests.url || args.manifests.path)) {
        problems.push({ arg: "manifests", value: args.manifests, message: `is set as well as the mirror, which serves manifests/${ROOK_BUNDLE_FILES.join(", ")}; keep one of them` });
    }
    return problems;
}

function replicated(spec: RookSpec): Record<string, unknown> {
    // Rook refuses a single replica unless told that this is on purpose
    return { size: spec.poolSize, requireSafeReplicaSize: spec.poolSize > 1 };
}

export interface ModuleOption {
    /** e.g. mgr */
    section: string;
    /** e.g. mgr/crash/warn_recent_interval */
    option: string;
    value: string;
}

/**
 * cephConfig in two parts: what Rook sets, and the options of mgr modules (mgr/<module>/<option>),
 * which the wait step sets. Ceph refuses a module's option until a mgr has loaded that module, and
 * Rook sets its options as soon as the mgr runs: on a busy lab the mgr had not loaded its modules
 * yet, Rook's reconcile failed, and the next one, five minutes later, set it (seen in the lab).
 */
export function splitCephConfig(cephConfig: Record<string, Record<string, string>> = {}): { rook: Record<string, Record<string, string>>; moduleOptions: ModuleOption[] } {
    const rook: Record<string, Record<string, string>> = {};
    const moduleOptions: ModuleOption[] = [];
    for (const [section, options] of Object.entries(cephConfig)) {
        for (const [option, value] of Object.entries(options)) {
            if (option.startsWith("mgr/")) moduleOptions.push({ section, option, value });
            else (rook[section] ??= {})[option] = value;
        }
    }
    return { rook, moduleOptions };
}

const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";

/**
 * With three control planes or more, the mons run on them only: they stay where etcd's quorum is,
 * so taking a worker out never takes a mon with it (Rook would move that mon only after its failover
 * timeout, 10 minutes or 20 while a node drains). Tolerated there even where control planes run no
 * workloads. Fewer: anywhere, as three mons need three nodes.
 */
function monPlacement(spec: Pick<RookSpec, "nodes">): Record<string, unknown> {
    if (spec.nodes.filter((node) => node.controlPlane).length < 3) return {};
    return {
        placement: {
            mon: {
                nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: CONTROL_PLANE_LABEL, operator: "Exists" }] }] } },
                tolerations: [{ key: CONTROL_PLANE_LABEL, operator: "Exists", effect: "NoSchedule" }],
            },
        },
    };
}

export function renderRookResources(spec: RookSpec): RookResources {
    const rookConfig = splitCephConfig(spec.cephConfig).rook;
    const probes = probeOverrides(spec.daemonProbes);
    const byDaemon = (probe: object) => Object.fromEntries(["mon", "mgr", "osd"].map((daemon) => [daemon, probe]));
    const metadata = (name: string) => ({
        name,
        namespace: NAMESPACE,
        annotations: {
            // Rook writes into the specs of its resources too (e.g. the cluster's storage.nodes): the
            // program's values win those server-side apply conflicts instead of failing the update
            "pulumi.com/patchForce": "true",
            // deleted as kubectl deletes them: the provider's default (foreground) removes the MDS and
            // other daemons a resource owns before Rook's finalizer runs, which then waits on them for
            // ever (seen in the lab: a filesystem's deletion hung with its MDS gone)
            "pulumi.com/deletionPropagationPolicy": "background",
        },
    });
    const cluster: KubernetesObject = {
        apiVersion: "ceph.rook.io/v1",
        kind: "CephCluster",
        metadata: metadata(CLUSTER_NAME),
        spec: {
            cephVersion: { image: spec.cephImage },
            dataDirHostPath: DATA_DIR_HOST_PATH,
            // mons need a node each; fewer than three nodes can only hold one
            mon: { count: spec.nodes.length >= 3 ? 3 : 1, allowMultiplePerNode: false },
            ...monPlacement(spec),
            // restful, on by default in Reef, is not used by Rook; in an image whose cryptography is
            // built with PyO3 (Debian's) it cannot load in the mgr's subinterpreters and keeps Ceph in HEALTH_WARN
            mgr: { count: 1, modules: [{ name: "restful", enabled: false }] },
            storage: {
                useAllNodes: false,
                useAllDevices: false,
                // full paths are allowed (and /dev/disk/by-id/... survives a reordering of the disks)
                nodes: osdNodes(spec).map((node) => ({ name: node.hostname, devices: node.osdDevices.map((device) => ({ name: device })) })),
            },
            ...(spec.metrics === false ? { monitoring: { metricsDisabled: true } } : {}),
            ...(Object.keys(rookConfig).length > 0 ? { cephConfig: rookConfig } : {}),
            // each probe runs the ceph CLI (Python) in the daemon's container: on a busy machine it
            // outlived Rook's 5 s, and the kubelet restarted healthy OSDs (seen in the lab)
            ...(probes ? { healthCheck: { livenessProbe: byDaemon(probes.liveness), startupProbe: byDaemon(probes.startup) } } : {}),
            // no confirmation: deleting the cluster leaves the data on the disks. Rook stops managing a
            // cluster whose confirmation is set, so a lab that wipes on destroy sets it only then
            // (renderCleanupArmScript).
            cleanupPolicy: { confirmation: "" },
        },
    };
    const blockPool: KubernetesObject = {
        apiVersion: "ceph.rook.io/v1",
        kind: "CephBlockPool",
        metadata: metadata(BLOCK_POOL),
        spec: { failureDomain: "host", replicated: replicated(spec) },
    };
    const filesystem: KubernetesObject = {
        apiVersion: "ceph.rook.io/v1",
        kind: "CephFilesystem",
        metadata: metadata(FILESYSTEM),
        spec: {
            metadataPool: { failureDomain: "host", replicated: replicated(spec) },
            dataPools: [{ name: DATA_POOL, failureDomain: "host", replicated: replicated(spec) }],
            preserveFilesystemOnDelete: true,
            metadataServer: {
                activeCount: 1,
                activeStandby: true,
                // Rook gives the MDS no startup probe to take the timing over: a startupProbe here has
                // no command, and Kubernetes refuses the MDS deployment (seen in the lab)
                ...(probes ? { livenessProbe: probes.liveness } : {}),
            },
        },
    };
    const secrets = (driver: "rbd" | "cephfs") => ({
        "csi.storage.k8s.io/provisioner-secret-name": `rook-csi-${driver}-provisioner`,
        "csi.storage.k8s.io/provisioner-secret-namespace": NAMESPACE,
        "csi.storage.k8s.io/controller-expand-secret-name": `rook-csi-${driver}-provisioner`,
        "csi.storage.k8s.io/controller-expand-secret-namespace": NAMESPACE,
        "csi.storage.k8s.io/node-stage-secret-name": `rook-csi-${driver}-node`,
        "csi.storage.k8s.io/node-stage-secret-namespace": NAMESPACE,
    });
    const storageClass = (name: string, provisioner: string, parameters: Record<string, string>): StorageClassObject => ({
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name },
        provisioner,
        parameters,
        reclaimPolicy: "Delete",
        allowVolumeExpansion: true,
    });
    return {
        cluster,
        blockPool,
        filesystem,
        blockStorageClass: storageClass(spec.blockStorageClass, `${NAMESPACE}.rbd.csi.ceph.com`, {
            clusterID: NAMESPACE,
            pool: BLOCK_POOL,
            imageFormat: "2",
            imageFeatures: "layering",
            ...secrets("rbd"),
            "csi.storage.k8s.io/fstype": "ext4",
        }),
        filesystemStorageClass: storageClass(spec.filesystemStorageClass, `${NAMESPACE}.cephfs.csi.ceph.com`, {
            clusterID: NAMESPACE,
            fsName: FILESYSTEM,
            pool: `${FILESYSTEM}-${DATA_POOL}`,
            ...secrets("cephfs"),
            // ceph-csi reads the mounter per volume: the kernel client, or ceph-fuse where the kernel lacks it
            mounter: spec.csi.cephfsMounter,
        }),
    };
}

/** The resources as one YAML stream, in the order they are created. */
export function renderRookResourcesYaml(resources: RookResources): string {
    return [resources.cluster, resources.blockPool, resources.filesystem, resources.blockStorageClass, resources.filesystemStorageClass]
        .map((resource) => YAML.stringify(resource))
        .join("---\n");
}

/** The images a mirror must hold for this spec (Rook's CSI images come with it, named as the operator's defaults). */
export function rookImages(spec: Pick<RookSpec, "rookVersion" | "cephImage">): string[] {
    return [spec.cephImage, `docker.io/rook/ceph:v${plainVersion(spec.rookVersion)}`];
}

/** The ceph CLI with the admin key, in the operator's pod (as Rook itself runs it), as bash. */
export const CEPH_FUNCTION = `ceph_() { kc -n ${NAMESPACE} exec deploy/rook-ceph-operator -- ceph --conf=${DATA_DIR_HOST_PATH}/${NAMESPACE}/${NAMESPACE}.config --keyring=${DATA_DIR_HOST_PATH}/${NAMESPACE}/client.admin.keyring --connect-timeout=10 "$@" 2>/dev/null; }`;

/** The OSD counts "total up in" from `ceph osd stat` ("3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20" -> "3 3 3"), as bash. */
const OSD_COUNTS = `ceph_ osd stat | tr -d ',;()' | awk '{ for (i = 2; i <= NF; i++) { if ($i == "osds:") t = $(i - 1); if ($i == "up") u = $(i - 1); if ($i == "in") n = $(i - 1) } } END { if (t != "") print t, u, n }'`;

/**
 * For another component's step that must find Ceph healthy before it goes on (a rolling upgrade,
 * between nodes): no CephCluster at all, or HEALTH_OK with every OSD up and in, waited for,
 * bounded; otherwise Ceph's health detail and a failure. Its text depends on the timeout only, so
 * that adding an OSD changes none of the steps that run it.
 */
export function renderHealthGateScript(timeoutMinutes = HEALTH_TIMEOUT_MINUTES): string {
    return script(
        KUBECTL_FUNCTION,
        CEPH_FUNCTION,
        `if ! kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} -o name >/dev/null 2>&1; then
  echo "no CephCluster ${CLUSTER_NAME}: no Ceph to wait for"
  exit 0
fi
started=$(date +%s)
while :; do
  health=$(ceph_ health | awk '{ print $1 }' || true)
  read -r osds_total osds_up osds_in <<<"$(${OSD_COUNTS} || true)" || true
  if [ "$health" = HEALTH_OK ] && [ -n "$osds_total" ] && [ "$osds_up" = "$osds_total" ] && [ "$osds_in" = "$osds_total" ]; then
    echo "Ceph is HEALTH_OK with $osds_total OSDs up and in"
    exit 0
  fi
  if [ $(($(date +%s) - started)) -ge ${timeoutMinutes * 60} ]; then break; fi
  echo "[$(($(date +%s) - started))s of ${timeoutMinutes * 60}s] Ceph health \${health:-unknown}; OSDs (total up in) \${osds_total:-?} \${osds_up:-?} \${osds_in:-?}"
  sleep ${WAIT_SECONDS}
done
echo "Ceph was not HEALTH_OK with every OSD up and in within ${timeoutMinutes} minutes (storage.healthTimeoutMinutes):" >&2
ceph_ health detail >&2 || true
exit 1`,
    );
}

/** How long one op may stay blocked on a mon before the wait restarts that mon. */
export const STUCK_MON_OP_SECONDS = 300;

/**
 * Waits on the admin node, bounded, printing progress, until Ceph is HEALTH_OK with every OSD the
 * spec asks for up and in, and the pool and filesystem Ready: a cluster of monitors alone reports
 * HEALTH_OK too (seen in the lab, before any OSD existed).
 */
export function renderWaitScript(spec: RookSpec): string {
    const get = (kind: string, name: string, path: string) => `kc -n ${NAMESPACE} get ${kind} ${name} -o jsonpath='${path}' 2>/dev/null || true`;
    const osds = osdNodes(spec).reduce((sum, node) => sum + node.osdDevices.length, 0);
    const { moduleOptions } = splitCephConfig(spec.cephConfig);
    const names = moduleOptions.map(({ option }) => option).join(" ");
    const limit = spec.healthTimeoutMinutes ?? HEALTH_TIMEOUT_MINUTES;
    // --force: Ceph takes a module's option before a mgr has loaded the module
    const setModuleOptions = moduleOptions.length === 0 ? "" : `
  if [ "$module_options" = pending ] && ${moduleOptions.map(({ section, option, value }) => `ceph_ config set ${shellQuote(section)} ${shellQuote(option)} ${shellQuote(value)} --force >/dev/null`).join(" && ")}; then
    module_options=applied
    echo "mgr module options set: ${names}"
  fi`;
    return script(
        KUBECTL_FUNCTION,
        CEPH_FUNCTION,
        `# mons, the mgr and one OSD per device come up one after another: minutes, not seconds
want_osds="${osds} ${osds} ${osds}"${moduleOptions.length === 0 ? "" : `
module_options=pending`}
restarted_mons=""
mgr_failed_over=no
# bounded by the clock, not a count of tries: on a busy machine one round of queries took 40 s
started=$(date +%s)
while [ $(($(date +%s) - started)) -lt ${limit * 60} ]; do${setModuleOptions}
  health=$(${get("cephcluster", CLUSTER_NAME, "{.status.ceph.health}")})
  # "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20" -> "3 3 3"
  osds=$(${OSD_COUNTS} || true)
  pool=$(${get("cephblockpool", BLOCK_POOL, "{.status.phase}")})
  filesystem=$(${get("cephfilesystem", FILESYSTEM, "{.status.phase}")})
  if [ "$health" = HEALTH_WARN ]; then
    # A mon can keep one op from before its quorum formed, blocked for good (its "slow ops" never clear,
    # seen in the lab and in rook/rook#14602); restarting that mon, once, clears it while the others keep quorum.
    read -r blocked_for mon <<<"$(ceph_ health detail | sed -n 's/.*SLOW_OPS: .* blocked for \\([0-9]*\\) sec, mon\\.\\([a-z]*\\) has slow ops.*/\\1 \\2/p' || true)" || true
    if [ -n "$mon" ] && [ "$blocked_for" -ge ${STUCK_MON_OP_SECONDS} ] && [[ " $restarted_mons " != *" $mon "* ]]; then
      echo "mon.$mon has held one op for $blocked_for s: restarting it once"
      kc -n ${NAMESPACE} delete pod -l app=rook-ceph-mon,mon="$mon" --wait=false >/dev/null || true
      restarted_mons="$restarted_mons $mon"
    fi
  fi
  if [ "$health" = HEALTH_ERR ] && [ "$mgr_failed_over" = no ]; then
    # A mgr module can fail as the mgr starts and stay failed, keeping Ceph in HEALTH_ERR: devicehealth's
    # "unknown operation" (seen in the lab on a loaded machine, and in rook/rook#12349; a startup race,
    # ceph/ceph#62348). A mgr failover restarts its modules (it cleared the lab's); done once.
    module=$(ceph_ health detail | sed -n 's/.*MGR_MODULE_ERROR: Module .\\([a-z_]*\\). has failed.*/\\1/p' | head -n 1 || true)
    if [ -n "$module" ]; then
      echo "mgr module $module has failed: failing the mgr over once, which restarts its modules"
      ceph_ mgr fail >/dev/null || true
      mgr_failed_over=yes
    fi
  fi
  daemons=pending
  if [ "$health" = HEALTH_OK ]; then
    # after a new storage.cephImage Rook restarts the daemons one by one: done once it runs that image
    # and every daemon reports one and the same version
    running_image=$(${get("cephcluster", CLUSTER_NAME, "{.status.version.image}")})
    versions=$(ceph_ versions | grep -o '"ceph version [^"]*"' | sort -u | wc -l || true)
    if [ "$running_image" = ${shellQuote(spec.cephImage)} ] && [ "$versions" = 1 ]; then daemons=one-version; else daemons="on \${versions:-?} versions, Rook's image \${running_image:-unknown}"; fi
  fi
  if [ "$health" = HEALTH_OK ] && [ "$daemons" = one-version ] && [ "$osds" = "$want_osds" ] && [ "$pool" = Ready ] && [ "$filesystem" = Ready ]${moduleOptions.length === 0 ? "" : ` && [ "$module_options" = applied ]`}; then
    echo "Ceph (${spec.cephImage}, Rook ${spec.rookVersion}) is HEALTH_OK: ${osds} OSDs up and in, pool ${BLOCK_POOL} and filesystem ${FILESYSTEM} Ready"
    # for whoever reads the log; the nodes record it from their own disks' labels (the fsid steps)
    echo "${FSID_LINE_PREFIX}$(${get("cephcluster", CLUSTER_NAME, "{.status.ceph.fsid}")})"
    exit 0
  fi
  echo "[$(($(date +%s) - started))s of ${limit * 60}s] Ceph health \${health:-unknown}; daemons $daemons; OSDs (total up in) \${osds:-unknown} of ${osds}; pool \${pool:-pending}; filesystem \${filesystem:-pending}${moduleOptions.length === 0 ? "" : "; mgr module options $module_options"}"
  sleep ${WAIT_SECONDS}
done`,
        `echo "Ceph did not become healthy with ${osds} OSDs in ${limit} minutes (storage.healthTimeoutMinutes); see kubectl -n ${NAMESPACE} describe cephcluster ${CLUSTER_NAME} and the rook-ceph-osd-prepare pods' logs" >&2
kc -n ${NAMESPACE} get cephcluster ${CLUSTER_NAME} -o jsonpath='{.status.ceph.details}' >&2 2>/dev/null || true
# Ceph's own words on what keeps it from HEALTH_OK
ceph_ health detail >&2 || true
exit 1`,
    );
}
