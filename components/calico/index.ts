import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { applyManifestBundle, bundleFiles, ManifestSource } from "../manifests";
import { remoteScript, SshTarget } from "../remote";
import {
    calicoBundle, CalicoSpec, MANIFEST_FILES, renderCalicoResources, renderCalicoResourcesYaml,
    renderWaitScript, upstreamManifestUrl, validateCalicoSpec,
} from "./render";

export { Encapsulation } from "./render";

export interface CalicoNetworkArgs extends CalicoSpec {
    /** The tigera-operator bundle: {} for upstream, { url } for a mirror, { path } for a local file. */
    manifests: ManifestSource;
    /** Admin kubeconfig (a secret), e.g. KubeadmCluster.kubeconfig. */
    kubeconfig: pulumi.Input<string>;
    /** The first control plane, which has admin.conf and kubectl, e.g. the init node's SshTarget. */
    adminNode: SshTarget;
}

/** Calico through the tigera operator: the bundle applied on the admin node, the Installation through Kubernetes. */
export class CalicoNetwork extends pulumi.ComponentResource {
    readonly version: pulumi.Output<string>;
    readonly podCidr: pulumi.Output<string>;
    /** Completes when Calico is available and every node is Ready; later components depend on it. */
    readonly ready: pulumi.Resource;

    constructor(name: string, args: CalicoNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:CalicoNetwork", name, {}, opts);

        const { manifests: _manifests, kubeconfig: _kubeconfig, adminNode: _adminNode, ...spec } = args;
        validateCalicoSpec(spec);
        const resources = renderCalicoResources(spec);
        const bundle = calicoBundle(args.version, bundleFiles(args.manifests, upstreamManifestUrl(args.version), MANIFEST_FILES, true));

        const provider = new k8s.Provider(`${name}-provider`, {
            kubeconfig: pulumi.secret(args.kubeconfig),
            // a destroy must still succeed once the cluster itself is gone
            deleteUnreachable: true,
        }, { parent: this });

        const operator = applyManifestBundle(`${name}-operator`, { target: args.adminNode, bundle }, { parent: this });

        // the CRDs and the operator that acts on these resources come with the bundle
        const crOptions = { parent: this, provider, dependsOn: [operator] };
        const installation = new k8s.apiextensions.CustomResource(`${name}-installation`, resources.installation, crOptions);
        const apiServer = new k8s.apiextensions.CustomResource(`${name}-apiserver`, resources.apiServer, crOptions);
        // a patch, not a resource: the operator owns the rest of FelixConfiguration "default",
        // and deleting the patch only turns WireGuard off again
        const felix = resources.felixConfiguration
            ? [new k8s.apiextensions.CustomResourcePatch(`${name}-felix-configuration`, resources.felixConfiguration, crOptions)]
            : [];

        this.ready = remoteScript(`${name}-wait`, {
            target: args.adminNode,
            create: renderWaitScript(spec),
            // wait again whenever what Calico is asked to do changes
            triggers: [createHash("sha256").update(renderCalicoResourcesYaml(resources)).digest("hex")],
        }, {
            parent: this,
            // nothing to wait for before the operator has its resources
            dependsOn: [installation, apiServer, ...felix],
        });

        this.version = pulumi.output(bundle.version);
        this.podCidr = pulumi.output(args.podCidr);
        this.registerOutputs({ version: this.version, podCidr: this.podCidr });
    }
}
