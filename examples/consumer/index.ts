// Another project reading the homelab's outputs: the VIP, the nodes and the
// kubeconfig (which stays a secret here too).
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const homelab = new pulumi.StackReference(config.require("labStack"));

interface NodeSummary {
    name: string;
    roles: string[];
}

export const labVip = homelab.getOutput("vip");
export const controlPlanes = homelab.getOutput("nodes").apply((nodes: NodeSummary[]) =>
    nodes.filter((node) => node.roles.includes("control-plane")).map((node) => node.name));
export const hasKubeconfig = homelab.getOutput("kubeconfig").apply((kubeconfig) => kubeconfig !== undefined);
