import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { applyManifestBundle, bundleFiles, ManifestSource } from "../manifests";
import { remoteScript, SshTarget } from "../remote";
import {
    calicoBundle, CalicoSpec, Encapsulation, MANIFEST_FILES, renderCalicoResources, renderCalicoResourcesYaml,
    renderWaitScript, upstreamManifestUrl, validateCalicoSpec,
} from "./render";

export { Encapsulation } from "./render";

export interface CalicoNetworkArgs {
    /** Calico version, pinned, e.g. 3.30.3. */
    version: string;
    /** Pod network; must equal the cluster's podCidr, e.g. 172.16.0.0/16. */
    podCidr: string;
    /** e.g. IPIP (BGP routes through IP-in-IP tunnels); VXLAN where IPIP is blocked; None for plain BGP. */
    encapsulation: Encapsulation;
    /** Masquerade pod traffic leaving the pod network, e.g. true. */
    natOutgoing: boolean;
    /** IPAM block prefix handed to each node, e.g. 26 (64 addresses). */
    blockSize: number;
    /** Pod interface MTU, e.g. 0 to let Calico detect it. */
    mtu: number;
    /** Encrypt pod traffic between nodes with WireGuard, e.g. false. */
    wireguard: boolean;
    /** The internal network node addresses are picked from, e.g. 10.0.0.0/24. */
    nodeAddressCidr: string;
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

        const spec: CalicoSpec = {
            version: args.version,
            podCidr: args.podCidr,
            encapsulation: args.encapsulation,
            natOutgoing: args.natOutgoing,
            blockSize: args.blockSize,
            mtu: args.mtu,
            wireguard: args.wireguard,
            nodeAddressCidr: args.nodeAddressCidr,
        };
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
