// How components reach the cluster's API through Pulumi's Kubernetes provider, one way for all.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface ClusterApi {
    /** Admin kubeconfig (a secret), e.g. KubeadmCluster.kubeconfig. */
    kubeconfig: pulumi.Input<string>;
    /** What names the cluster for the provider, e.g. KubeadmCluster.clusterIdentifier ("homelab/lab"). */
    clusterIdentifier: string;
}

/**
 * The provider of a component's Kubernetes resources. With a fixed `clusterIdentifier` the
 * provider is replaced only when that changes: a kubeconfig that is re-read (unknown during
 * preview: a renewed client certificate, a new address) is an update, so the preview does not
 * plan to replace the CephCluster, the pools and the storage classes it manages. Adding the
 * identifier to a provider created without one is itself an update (pulumi-kubernetes DiffConfig).
 */
export function clusterProvider(name: string, api: ClusterApi, parent: pulumi.Resource): k8s.Provider {
    return new k8s.Provider(name, {
        kubeconfig: pulumi.secret(api.kubeconfig),
        clusterIdentifier: api.clusterIdentifier,
        // a destroy must still succeed once the cluster itself is gone
        deleteUnreachable: true,
    }, { parent });
}
