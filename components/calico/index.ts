import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { applyManifestBundle, bundleFiles, ManifestSource, stageLocalFile } from "../manifests";
import { ClusterApi, clusterProvider } from "../cluster-api";
import { Follows } from "../order";
import { describeArgProblems } from "../problems";
import { remoteScript, SshTarget } from "../remote";
import { plainVersion } from "../version";
import { renderImageImportScript, renderImageRemoveScript } from "./images";
import {
    InstallMethod, VXLAN_MANIFEST, VXLAN_MANIFEST_STAGING, ManifestInstall, installMethodProblems, renderManifestApplyScript, renderManifestDeleteScript, renderManifestWaitScript, upstreamVxlanManifestUrl, VxlanManifestSource,
} from "./manifest";
import {
    calicoBundle, CalicoSpec, OPERATOR_BUNDLE_FILES, renderCalicoResources, renderCalicoResourcesYaml,
    renderWaitScript, upstreamManifestUrl, calicoSpecProblems,
} from "./render";

export { Encapsulation } from "./render";
export { InstallMethod } from "./manifest";

/** A node of the cluster, as the manifest method's image import reaches it. */
export interface CalicoNode extends Follows {
    /** e.g. home-server-1 */
    hostname: string;
    ssh: SshTarget;
    /** What this node's own steps (its image import) wait for, e.g. KubeadmCluster.runtimeReadyOn[hostname]: containerd runs there. */
    after?: pulumi.Resource[];
}

export interface CalicoNetworkArgs extends CalicoSpec, Follows, ClusterApi {
    /** "operator" (the default): the tigera operator and its Installation; "manifest": Calico's calico-vxlan.yaml with this lab's settings, VXLAN only. */
    installMethod?: InstallMethod;
    /** Manifest method, air-gapped: a file server with SHA256SUMS, manifests/calico-vxlan.yaml and images/*.tar, e.g. http://192.168.77.1:8480/calico-v3.31.0. */
    mirror?: string;
    /**
     * Operator: the tigera-operator bundle; manifest without a mirror: calico-vxlan.yaml.
     * {} for upstream, { url } for a copy, { path } for a local file.
     */
    manifests: ManifestSource;
    /** The first control plane, which has admin.conf and kubectl, e.g. the init node's SshTarget. */
    adminNode: SshTarget;
    /** Every node of the cluster; with a mirror, each imports Calico's images before calico-node starts on it. */
    nodes: CalicoNode[];
    /**
     * What applying Calico waits for, e.g. KubeadmCluster.ready; each node's image import waits only
     * for its own `after`, so it overlaps kubeadm's init and joins.
     */
    after?: pulumi.Resource[];
}

/** Calico through the tigera operator (the bundle on the admin node, the Installation through Kubernetes), or from calico-vxlan.yaml. */
export class CalicoNetwork extends pulumi.ComponentResource {
    readonly version: pulumi.Output<string>;
    readonly podCidr: pulumi.Output<string>;
    /** Complete when Calico is available and every node is Ready. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: CalicoNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:CalicoNetwork", name, {}, opts);

        const { manifests: _manifests, kubeconfig: _kubeconfig, clusterIdentifier: _clusterIdentifier, adminNode: _adminNode, nodes: _nodes, installMethod = "operator", mirror: _mirror, after: _after, ...spec } = args;
        const problems = [...calicoSpecProblems(spec), ...installMethodProblems({ installMethod, encapsulation: spec.encapsulation, mirror: args.mirror, manifests: args.manifests })];
        if (problems.length > 0) throw new pulumi.ResourceError(describeArgProblems(`CalicoNetwork ${name}`, problems), this);

        this.ready = [installMethod === "manifest" ? this.installFromManifest(name, args, spec) : this.installWithOperator(name, args, spec)];
        this.version = pulumi.output(plainVersion(args.version));
        this.podCidr = pulumi.output(args.podCidr);
        this.registerOutputs({ version: this.version, podCidr: this.podCidr });
    }

    /** The tigera-operator bundle applied on the admin node, its custom resources through Kubernetes; returns the wait. */
    private installWithOperator(name: string, args: CalicoNetworkArgs, spec: CalicoSpec): pulumi.Resource {
        const resources = renderCalicoResources(spec);
        const bundle = calicoBundle(args.version, bundleFiles(args.manifests, upstreamManifestUrl(args.version), OPERATOR_BUNDLE_FILES, true));

        const provider = clusterProvider(`${name}-provider`, args, this);

        const operator = applyManifestBundle(`${name}-operator`, { target: args.adminNode, bundle, dependsOn: args.after }, { parent: this });

        // the CRDs and the operator that acts on these resources come with the bundle
        const crOptions = { parent: this, provider, dependsOn: [operator] };
        const installation = new k8s.apiextensions.CustomResource(`${name}-installation`, resources.installation, crOptions);
        const apiServer = new k8s.apiextensions.CustomResource(`${name}-apiserver`, resources.apiServer, crOptions);
        // a patch, not a resource: the operator owns the rest of FelixConfiguration "default",
        // and deleting the patch only turns WireGuard off again
        const felix = resources.felixConfiguration
            ? [new k8s.apiextensions.CustomResourcePatch(`${name}-felix-configuration`, resources.felixConfiguration, crOptions)]
            : [];

        return remoteScript(`${name}-wait`, {
            target: args.adminNode,
            create: renderWaitScript(spec),
            // wait again whenever what Calico is asked to do changes
            triggers: [createHash("sha256").update(renderCalicoResourcesYaml(resources)).digest("hex")],
        }, {
            parent: this,
            // nothing to wait for before the operator has its resources
            dependsOn: [installation, apiServer, ...felix],
        });
    }

    /** calico-vxlan.yaml and its overlay applied on the admin node, after every node has the images; returns the wait. */
    private installFromManifest(name: string, args: CalicoNetworkArgs, spec: CalicoSpec): pulumi.Resource {
        const install: ManifestInstall = { ...spec, source: vxlanManifestSource(args) };
        const mirror = install.source.kind === "mirror" ? install.source.url : undefined;

        const imports = mirror === undefined ? [] : args.nodes.map((node) => remoteScript(`${name}-images-${node.hostname}`, {
            target: node.ssh,
            create: renderImageImportScript({ version: spec.version, mirror }, node.hostname),
            delete: renderImageRemoveScript(spec, node.hostname),
        }, {
            parent: this,
            dependsOn: node.after,
            // the old step's delete removes the images by name: it must run before the new import, not after
            deleteBeforeReplace: true,
        }));
        const copies = install.source.kind === "path" ? [stageLocalFile(`${name}-manifest-copy`, {
            target: args.adminNode, localPath: install.source.localPath, remotePath: VXLAN_MANIFEST_STAGING,
        }, { parent: this })] : [];

        const applyScript = renderManifestApplyScript(install);
        const manifest = remoteScript(`${name}-manifest`, {
            target: args.adminNode,
            create: applyScript,
            delete: renderManifestDeleteScript(),
        }, {
            parent: this,
            // calico-node must find its images on every node (nothing is pulled), and the copied file must be there
            dependsOn: [...(args.after ?? []), ...imports, ...copies],
        });

        return remoteScript(`${name}-wait`, {
            target: args.adminNode,
            create: renderManifestWaitScript(install),
            // wait again whenever what is applied changes
            triggers: [createHash("sha256").update(applyScript).digest("hex")],
        }, {
            parent: this,
            // the DaemonSet and Deployment to wait for come with the manifest
            dependsOn: [manifest],
        });
    }
}

/** Where calico-vxlan.yaml comes from: the mirror, else calico.manifests, else the pinned upstream file. */
export function vxlanManifestSource(args: Pick<CalicoNetworkArgs, "mirror" | "manifests" | "version">): VxlanManifestSource {
    if (args.mirror) return { kind: "mirror", url: args.mirror };
    const [file] = bundleFiles(args.manifests, upstreamVxlanManifestUrl(args.version), [VXLAN_MANIFEST], true);
    if (file.localPath && file.sha256) return { kind: "path", localPath: file.localPath, sha256: file.sha256 };
    return { kind: "url", url: file.url as string };
}
