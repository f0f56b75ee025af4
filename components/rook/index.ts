import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { applyManifestBundle, bundleFiles, ManifestSource } from "../manifests";
import { remoteScript, SshTarget } from "../remote";
import { renderMirroredImagesImportScript, renderMirroredImagesRemoveScript } from "../airgap";
import {
    CephfsMounter, MANIFEST_FILES, renderRookResources, renderRookResourcesYaml, renderWaitScript, rookBundle, rookImages, RookSpec, upstreamManifestBase, validateRookSpec,
} from "./render";
import { renderCleanupArmScript, renderCleanupWaitScript, renderClaimsGuardScript, renderNodeWipeScript } from "./teardown";

export { CephfsMounter } from "./render";

export interface RookNode {
    /** e.g. home-server-1 */
    hostname: string;
    /** Whole disks Ceph may wipe and take, e.g. ["/dev/sdb"]; none for a node without OSDs. */
    osdDevices: string[];
    /** How Pulumi reaches the node (for the air-gapped image import). */
    ssh: SshTarget;
    /** The node's containerd is running once this is done (KubeadmCluster.runtimeReady): its images are imported then. */
    runtimeReady?: pulumi.Resource;
}

export interface RookCephArgs extends Omit<RookSpec, "csi" | "nodes" | "wipeDisksOnDestroy"> {
    /** Every node of the cluster. */
    nodes: RookNode[];
    /** The deploy/examples bundle: {} for upstream, { url } for a mirror of that directory, { path } for a local copy. */
    manifests: ManifestSource;
    /**
     * Air-gapped: a file server laid out as scripts/build-offline-rook.sh writes it, e.g.
     * http://10.0.0.1:8480/rook-v1.17.8; its images/*.tar go into containerd on every node and its manifests/ are applied.
     */
    mirror?: string;
    /** On destroy, Rook wipes the OSD disks and /var/lib/rook on every node, and each node wipes what Rook left; default false (the data stays). */
    wipeDisksOnDestroy?: boolean;
    /** Admin kubeconfig (a secret), e.g. KubeadmCluster.kubeconfig. */
    kubeconfig: pulumi.Input<string>;
    /** The first control plane, which has admin.conf and kubectl, e.g. the init node's SshTarget. */
    adminNode: SshTarget;
    /** How pods mount CephFS, e.g. { cephfsMounter: "fuse" } where the kernel has no ceph module; default kernel. */
    csi?: { cephfsMounter: CephfsMounter };
    /**
     * What the operator waits for, e.g. CalicoNetwork.ready (OSD pods need the pod network). Given
     * here rather than as the component's dependsOn, which every child would wait for: each node's
     * image import waits only for its own runtimeReady, so it overlaps the stages before.
     */
    clusterReady?: pulumi.Resource[];
}

/** Ceph through Rook: the operator bundle on the admin node, then cluster, pools and storage classes through Kubernetes. */
export class RookCeph extends pulumi.ComponentResource {
    /** Names of the storage classes, e.g. { block: "ceph-block", filesystem: "ceph-filesystem" }. */
    readonly storageClasses: pulumi.Output<{ block: string; filesystem: string }>;
    /** Complete when Ceph is healthy and the storage classes exist. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: RookCephArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:RookCeph", name, {}, opts);

        const { manifests: _manifests, kubeconfig: _kubeconfig, adminNode: _adminNode, mirror, csi, nodes, wipeDisksOnDestroy, clusterReady: _clusterReady, ...settings } = args;
        const spec: RookSpec = {
            ...settings,
            nodes: nodes.map(({ hostname, osdDevices }) => ({ hostname, osdDevices })),
            csi: csi ?? { cephfsMounter: "kernel" },
            wipeDisksOnDestroy: wipeDisksOnDestroy ?? false,
        };
        validateRookSpec(spec);
        const resources = renderRookResources(spec);
        const manifestSource: ManifestSource = mirror ? { url: `${mirror.replace(/\/+$/, "")}/manifests/` } : args.manifests;
        const bundle = rookBundle(spec, bundleFiles(manifestSource, upstreamManifestBase(args.rookVersion), MANIFEST_FILES, false));

        const provider = new k8s.Provider(`${name}-provider`, {
            kubeconfig: pulumi.secret(args.kubeconfig),
            // a destroy must still succeed once the cluster itself is gone
            deleteUnreachable: true,
        }, { parent: this });

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
                dependsOn: node.runtimeReady ? [node.runtimeReady] : [],
                // the old step's delete removes the images by name: it must run before the new import, not after
                deleteBeforeReplace: true,
            });
        });

        const operator = applyManifestBundle(`${name}-operator`, { target: args.adminNode, bundle, dependsOn: [...(args.clusterReady ?? []), ...images] }, { parent: this });

        // deleted after the wait for Rook's cleanup jobs: each node wipes what they left (all of it when
        // Rook started none), so a destroy that could not arm Rook's cleanup still leaves blank disks
        const wipes = spec.wipeDisksOnDestroy ? nodes.map((node) => remoteScript(`${name}-wipe-${node.hostname}`, {
            target: node.ssh,
            create: "true",
            delete: renderNodeWipeScript(node),
        }, { parent: this, dependsOn: node.runtimeReady ? [node.runtimeReady] : [] })) : [];

        // between the operator and the cluster: deleted after the cluster and before the operator, it
        // waits for the cleanup jobs the deletion starts, so the operator is not removed under them
        const cleanup = spec.wipeDisksOnDestroy ? [remoteScript(`${name}-cleanup`, {
            target: args.adminNode,
            create: "true",
            delete: renderCleanupWaitScript(),
        }, { parent: this, dependsOn: [operator, ...wipes] })] : [];

        const cluster = new k8s.apiextensions.CustomResource(`${name}-cluster`, resources.cluster, {
            parent: this,
            provider,
            // the CRDs and the operator come with the bundle; deleted before it, so the operator can clean up
            dependsOn: [operator, ...cleanup],
        });
        // after the cluster and before the pools: deleted after them and before the cluster, it sets
        // the cleanup policy that makes Rook wipe the disks once the cluster is deleted
        const arm = spec.wipeDisksOnDestroy ? [remoteScript(`${name}-cleanup-arm`, {
            target: args.adminNode,
            create: "true",
            delete: renderCleanupArmScript(),
        }, { parent: this, dependsOn: [cluster] })] : [];

        // Rook refuses to delete a cluster that still has pools or filesystems: they go first
        const blockPool = new k8s.apiextensions.CustomResource(`${name}-block-pool`, resources.blockPool, { parent: this, provider, dependsOn: [cluster, ...arm] });
        const filesystem = new k8s.apiextensions.CustomResource(`${name}-filesystem`, resources.filesystem, { parent: this, provider, dependsOn: [cluster, ...arm] });

        const healthy = remoteScript(`${name}-wait`, {
            target: args.adminNode,
            create: renderWaitScript(spec),
            // wait again whenever what Ceph is asked to do changes
            triggers: [createHash("sha256").update(renderRookResourcesYaml(resources)).digest("hex")],
        }, {
            parent: this,
            // health covers the OSDs and the pools, so everything must have been asked for
            dependsOn: [cluster, blockPool, filesystem],
        });

        // classes only once Ceph is healthy (so a claim never waits on a broken cluster), and deleted first
        const blockClass = new k8s.storage.v1.StorageClass(`${name}-block-storage-class`, resources.blockStorageClass, {
            parent: this, provider, dependsOn: [blockPool, healthy],
        });
        const filesystemClass = new k8s.storage.v1.StorageClass(`${name}-filesystem-storage-class`, resources.filesystemStorageClass, {
            parent: this, provider, dependsOn: [filesystem, healthy],
        });

        // deleted first: a destroy stops here, before anything of Ceph's is touched, while claims use the classes
        remoteScript(`${name}-claims-guard`, {
            target: args.adminNode,
            create: "true",
            delete: renderClaimsGuardScript(spec),
        }, { parent: this, dependsOn: [blockClass, filesystemClass] });

        this.storageClasses = pulumi.all([blockClass.metadata, filesystemClass.metadata])
            .apply(([block, fs]) => ({ block: block.name, filesystem: fs.name }));
        this.ready = [healthy, blockClass, filesystemClass];
        this.registerOutputs({ storageClasses: this.storageClasses });
    }
}
