import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { applyManifestBundle, bundleFiles, ManifestSource } from "../manifests";
import { ClusterApi, clusterProvider } from "../cluster-api";
import { Follows } from "../order";
import { describeArgProblems } from "../problems";
import { deleteOnlyStep, remoteScript, SshTarget } from "../remote";
import { renderMirroredImagesImportScript, renderMirroredImagesRemoveScript } from "../airgap";
import {
    CephfsMounter, ROOK_BUNDLE_FILES, renderRookResources, renderRookResourcesYaml, renderHealthGateScript, renderWaitScript, rookBundle, rookImages, RookSpec, upstreamManifestBase, rookSourceProblems, rookSpecProblems,
} from "./render";
import { renderCleanupArmScript, renderCleanupWaitScript, renderClaimsGuardScript, renderNodeWipeScript } from "./teardown";
import { renderDeviceCheckScript, renderFsidRecordScript, renderFsidRetireScript } from "./disks";
import { renderOsdDeparturesScript } from "./departures";
import { renderReplacedOsdsScript } from "./replacements";
import { renderCephImageCheckScript, renderRookUpgradeCheck } from "./upgrade";

export { CephfsMounter } from "./render";

export interface RookNode extends Follows {
    /** e.g. home-server-1 */
    hostname: string;
    /**
     * Whole disks Ceph may wipe and take, e.g. ["/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-WCC7K0000000"]
     * (a by-id name stays with the disk when /dev/sdX names change); none for a node without OSDs.
     * Problems with them are reported as nodes[i].osdDevices[j], i being the node's place in
     * RookCephArgs.nodes (the stack passes its config's nodes in order).
     */
    osdDevices: string[];
    /** Whether it is a Kubernetes control plane: with three or more, the mons run on those only. */
    controlPlane?: boolean;
    /** How Pulumi reaches the node (for the air-gapped image import). */
    ssh: SshTarget;
    /** What this node's own steps (image import, device check) wait for, e.g. KubeadmCluster.runtimeReadyOn[hostname]: containerd runs there. */
    after?: pulumi.Resource[];
    /** Which machine is at the node's address (BareMetalNode.machine); a new one (a replaced machine) has the old one's OSDs purged. */
    machine?: pulumi.Input<string>;
}

export interface RookCephArgs extends Omit<RookSpec, "csi" | "nodes" | "wipeDisksOnDestroy">, Follows, ClusterApi {
    /** Every node of the cluster. */
    nodes: RookNode[];
    /** The deploy/examples bundle: {} for upstream, { url } for a mirror of that directory, { path } for a local copy. */
    manifests: ManifestSource;
    /**
     * Air-gapped: a file server laid out as offline/build-rook.sh writes it, e.g.
     * http://10.0.0.1:8480/rook-v1.17.8; its images/*.tar go into containerd on every node and its manifests/ are applied.
     */
    mirror?: string;
    /**
     * On destroy, Rook wipes the OSD disks and /var/lib/rook on every node, and each node wipes what
     * Rook left of this cluster's OSDs; default false (the data stays). Only rendered into delete
     * scripts: changing it runs nothing, and a destroy acts on the value the last up recorded.
     */
    wipeDisksOnDestroy?: boolean;
    /**
     * Pulumi protects the CephCluster, the pool, the filesystem and the storage classes (default
     * true): a plan that would delete or replace one of them fails before anything changes, naming
     * it. false, and an up (which changes nothing on the machines), before a destroy of the storage.
     */
    protect?: boolean;
    /** The first control plane, which has admin.conf and kubectl, e.g. the init node's SshTarget. */
    adminNode: SshTarget;
    /** How pods mount CephFS, e.g. { cephfsMounter: "fuse" } where the kernel has no ceph module; default kernel. */
    csi?: { cephfsMounter: CephfsMounter };
    /**
     * What the operator waits for, e.g. CalicoNetwork.ready (OSD pods need the pod network); each
     * node's own steps wait only for its own `after`, so they overlap the stages before.
     */
    after?: pulumi.Resource[];
}

/** Ceph through Rook: the operator bundle on the admin node, then cluster, pools and storage classes through Kubernetes. */
export class RookCeph extends pulumi.ComponentResource {
    /** Names of the storage classes, e.g. { block: "ceph-block", filesystem: "ceph-filesystem" }. */
    readonly storageClasses: pulumi.Output<{ block: string; filesystem: string }>;
    /** Complete when Ceph is healthy and the storage classes exist. */
    readonly ready: pulumi.Resource[];
    /** The script that waits, on a control plane, for Ceph HEALTH_OK with every OSD up and in (also after the lab is powered on). */
    readonly healthWaitScript: string;
    /** Ceph as another component's step must find it before it goes on (e.g. between the nodes of an upgrade): HEALTH_OK with every OSD up and in, waited for. */
    readonly healthGate: { what: string; script: string };
    /**
     * Creates the first step of a destroy: while claims or volumes of the storage classes exist, it
     * stops the destroy before anything else is deleted. Call it once, with every step the stack
     * creates after Ceph's (so that nothing depends on the guard and it is deleted first), e.g. the
     * power routine; with none, RookCeph is the last stage.
     */
    readonly guardClaims: (after: pulumi.Resource[]) => void;

    constructor(name: string, args: RookCephArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:RookCeph", name, {}, opts);

        const { manifests: _manifests, kubeconfig: _kubeconfig, clusterIdentifier: _clusterIdentifier, adminNode: _adminNode, mirror, csi, nodes, wipeDisksOnDestroy, after: _after, protect: _protect, ...settings } = args;
        // what holds the data, and what claims name: never deleted or replaced without the user saying so
        const stateful = { protect: args.protect ?? true };
        const spec: RookSpec = {
            ...settings,
            nodes: nodes.map(({ hostname, osdDevices, controlPlane }) => ({ hostname, osdDevices, controlPlane })),
            csi: csi ?? { cephfsMounter: "kernel" },
            wipeDisksOnDestroy: wipeDisksOnDestroy ?? false,
        };
        const problems = [...rookSpecProblems(spec), ...rookSourceProblems({ mirror, manifests: args.manifests })];
        if (problems.length > 0) throw new pulumi.ResourceError(describeArgProblems(`RookCeph ${name}`, problems), this);
        const resources = renderRookResources(spec);
        const manifestSource: ManifestSource = mirror ? { url: `${mirror.replace(/\/+$/, "")}/manifests/` } : args.manifests;
        // another Rook than the running one is checked against Rook's upgrade rules before it is applied
        const bundle = { ...rookBundle(spec, bundleFiles(manifestSource, upstreamManifestBase(args.rookVersion), ROOK_BUNDLE_FILES, false)), beforeChange: renderRookUpgradeCheck(args.rookVersion) };

        const provider = clusterProvider(`${name}-provider`, args, this);

        // air-gapped: every node has Rook's and Ceph's images before the operator schedules anything
        const images = mirror === undefined ? [] : nodes.map((node) => {
            const mirrored = {
                mirror, hostname: node.hostname, owner: "Rook", version: spec.rookVersion, versionKey: "storage.rookVersion and storage.cephImage",
                consumer: "the Rook operator", images: rookImages(spec), stampPrefix: "rook-",
            };
            return remoteScript(`${name}-images-${node.hostname}`, {
                target: node.ssh,
                create: renderMirroredImagesImportScript(mirrored),
                delete: renderMirroredImagesRemoveScript(mirrored),
            }, {
                parent: this,
                dependsOn: node.after,
                // the old step's delete removes the images by name: it must run before the new import, not after
                deleteBeforeReplace: true,
            });
        });

        // each node's disks are what the config says they are (whole, unused, blank or this cluster's)
        // before Rook, which takes whatever it is given, sees them
        const deviceChecks = nodes.flatMap((node, index) => node.osdDevices.length === 0 ? [] : [remoteScript(`${name}-devices-${node.hostname}`, {
            target: node.ssh,
            create: renderDeviceCheckScript(node, index),
        }, { parent: this, dependsOn: node.after })]);

        const operator = applyManifestBundle(`${name}-operator`, {
            target: args.adminNode,
            bundle,
            // Rook's operator acts on the disks only once the cluster exists, which comes after it
            dependsOn: [...(args.after ?? []), ...images, ...deviceChecks],
        }, { parent: this });

        // The three teardown steps below exist whatever wipeDisksOnDestroy says, and the flag is only
        // rendered into their delete scripts: were they created and deleted with the flag, turning it
        // off would delete them on the next up, and the arm step's delete would set the wipe policy on
        // the live cluster. A flag change is an update of their delete scripts, which runs nothing.

        // deleted after the wait for Rook's cleanup jobs: each node wipes what they left (all of it when
        // Rook started none), so a destroy that could not arm Rook's cleanup still leaves blank disks
        const wipes = nodes.map((node) => deleteOnlyStep(`${name}-wipe-${node.hostname}`, {
            target: node.ssh,
            delete: renderNodeWipeScript(node, spec),
        }, { parent: this, dependsOn: node.after }));

        // between the operator and the cluster: deleted after the cluster and before the operator, it
        // waits for the cleanup jobs the deletion starts, so the operator is not removed under them;
        // on the wipes, so they are deleted after it, when Rook is done or has given up
        const cleanup = deleteOnlyStep(`${name}-cleanup`, {
            target: args.adminNode,
            delete: renderCleanupWaitScript(spec),
        }, { parent: this, dependsOn: [operator, ...wipes] });

        // another Ceph image is checked against Ceph's upgrade rules, after the operator (whose pod runs
        // the ceph CLI, and which is upgraded first) and before the cluster is given it
        const cephImageCheck = remoteScript(`${name}-ceph-image-check`, {
            target: args.adminNode,
            create: renderCephImageCheckScript(spec.cephImage),
        }, { parent: this, dependsOn: [operator] });

        const cluster = new k8s.apiextensions.CustomResource(`${name}-cluster`, resources.cluster, {
            parent: this,
            provider,
            ...stateful,
            // the CRDs and the operator come with the bundle; deleted before it, so the operator can
            // clean up; on the cleanup wait, so that wait runs only once the cluster is deleted; on the
            // image check, so a refused image is never given to the cluster
            dependsOn: [operator, cleanup, cephImageCheck],
        });
        // after the cluster and before the pools: deleted after them and before the cluster, it sets
        // the cleanup policy that makes Rook wipe the disks once the cluster is deleted. On the cluster
        // so that its delete runs only where the cluster's comes next; the script itself refuses while
        // any pool or filesystem is left.
        const arm = deleteOnlyStep(`${name}-cleanup-arm`, {
            target: args.adminNode,
            delete: renderCleanupArmScript(spec),
        }, { parent: this, dependsOn: [cluster] });

        // Rook refuses to delete a cluster that still has pools or filesystems: they go first; on the
        // arm step, so its delete runs only after theirs
        const blockPool = new k8s.apiextensions.CustomResource(`${name}-block-pool`, resources.blockPool, { parent: this, provider, ...stateful, dependsOn: [cluster, arm] });
        const filesystem = new k8s.apiextensions.CustomResource(`${name}-filesystem`, resources.filesystem, { parent: this, provider, ...stateful, dependsOn: [cluster, arm] });

        // an OSD host taken out of the config leaves Ceph once its data has other homes: after the
        // cluster no longer lists it, and before the wait, which counts only the configured OSDs
        const departures = remoteScript(`${name}-osd-departures`, {
            target: args.adminNode,
            create: renderOsdDeparturesScript(spec),
        }, { parent: this, dependsOn: [cluster] });
        // OSDs a dead machine left behind leave Ceph once the machine in its place has OSDs up:
        // also before the wait, which they would keep from HEALTH_OK
        const osdHostMachines = pulumi.all(nodes.filter((node) => node.osdDevices.length > 0).map((node) => pulumi.all([node.hostname, pulumi.output(node.machine ?? "unknown")])));
        const replacements = remoteScript(`${name}-replaced-osds`, {
            target: args.adminNode,
            create: osdHostMachines.apply((pairs) => renderReplacedOsdsScript({ ...spec, machines: Object.fromEntries(pairs) })),
        }, { parent: this, dependsOn: [cluster] });

        this.healthWaitScript = renderWaitScript(spec);
        this.healthGate = { what: "Ceph", script: renderHealthGateScript(spec.healthTimeoutMinutes) };
        const healthy = remoteScript(`${name}-wait`, {
            target: args.adminNode,
            create: this.healthWaitScript,
            // wait again whenever what Ceph is asked to do changes
            triggers: [createHash("sha256").update(renderRookResourcesYaml(resources)).digest("hex")],
        }, {
            parent: this,
            // health covers the OSDs and the pools, so everything must have been asked for
            dependsOn: [cluster, blockPool, filesystem, departures, replacements],
        });

        // every node with OSD disks records the healthy cluster's fsid from their labels, which the
        // device check and the wipe on destroy compare with; deleted at the start of a destroy, they
        // move the record aside, where the wipe still finds it
        const fsids = nodes.filter((node) => node.osdDevices.length > 0).map((node) => remoteScript(`${name}-fsid-${node.hostname}`, {
            target: node.ssh,
            create: renderFsidRecordScript(node),
            delete: renderFsidRetireScript(node),
        }, {
            parent: this,
            // only a healthy cluster with an OSD on every disk has labelled each disk as its own
            dependsOn: [healthy],
        }));

        // classes only once Ceph is healthy (so a claim never waits on a broken cluster), and deleted first
        const blockClass = new k8s.storage.v1.StorageClass(`${name}-block-storage-class`, resources.blockStorageClass, {
            parent: this, provider, ...stateful, dependsOn: [blockPool, healthy],
        });
        const filesystemClass = new k8s.storage.v1.StorageClass(`${name}-filesystem-storage-class`, resources.filesystemStorageClass, {
            parent: this, provider, ...stateful, dependsOn: [filesystem, healthy],
        });

        // deleted first: a destroy stops here, before anything of Ceph's is touched, while claims use
        // the classes; on the fsid steps too, so a destroy it stops has not moved any record aside
        this.guardClaims = (after) => {
            deleteOnlyStep(`${name}-claims-guard`, {
                target: args.adminNode,
                delete: renderClaimsGuardScript(spec),
            }, { parent: this, dependsOn: [blockClass, filesystemClass, ...fsids, ...after] });
        };

        this.storageClasses = pulumi.all([blockClass.metadata, filesystemClass.metadata])
            .apply(([block, fs]) => ({ block: block.name, filesystem: fs.name }));
        this.ready = [healthy, blockClass, filesystemClass];
        this.registerOutputs({ storageClasses: this.storageClasses });
    }
}
