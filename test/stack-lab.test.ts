// The composed lab stack (air-gapped) under mocks: each node's image imports for
// Calico and Rook wait only for that node's containerd, so they overlap kubeadm;
// applying Calico and Rook still waits for the cluster and the pod network.
import * as pulumi from "@pulumi/pulumi";
import { byName, installMocks, registered, settle } from "./helpers/mocks";
import { runtimeConfigOf, THROWAWAY_KEY } from "./helpers/fixtures";

installMocks();

const NODES = ["lab-1", "lab-2", "lab-3"];

beforeAll(async () => {
    const config = runtimeConfigOf("Pulumi.lab.yaml");
    // the lab's key file exists only once the lab has run; the key is given as config instead
    const { privateKeyFile: _file, ...ssh } = JSON.parse(config["homelab:ssh"]);
    pulumi.runtime.setAllConfig({ ...config, "homelab:ssh": JSON.stringify(ssh), "homelab:sshPrivateKey": THROWAWAY_KEY }, ["homelab:sshPrivateKey"]);
    require("../index");
    await settle();
});

test("the lab stack imports images from its mirrors for Kubernetes, Calico and Rook", () => {
    for (const node of NODES) {
        expect(byName(`lab-calico-images-${node}`).type).toBe("command:remote:Command");
        expect(byName(`lab-rook-images-${node}`).type).toBe("command:remote:Command");
    }
});

test("a node's Calico and Rook images are imported once its containerd runs, not after the whole cluster", () => {
    for (const node of NODES) {
        expect(byName(`lab-calico-images-${node}`).dependsOn).toEqual([`lab-kubernetes-${node}-packages`]);
        expect(byName(`lab-rook-images-${node}`).dependsOn).toEqual([`lab-kubernetes-${node}-packages`]);
    }
    expect(byName("lab-calico").dependsOn).toEqual([]);
    expect(byName("lab-rook").dependsOn).toEqual([]);
});

test("Calico is applied after every join and every node's images; Rook's operator after Calico is ready and every node's images", () => {
    const joins = registered.filter((resource) => /^lab-kubernetes-lab-\d-join$/.test(resource.name)).map((resource) => resource.name);
    expect(joins).toHaveLength(NODES.length - 1);
    expect(byName("lab-calico-manifest").dependsOn).toEqual(expect.arrayContaining(["lab-kubernetes-init", ...joins, "lab-kubernetes-kubeconfig", ...NODES.map((node) => `lab-calico-images-${node}`)]));
    expect(byName("lab-rook-operator").dependsOn).toEqual(expect.arrayContaining(["lab-calico-wait", ...NODES.map((node) => `lab-rook-images-${node}`)]));
});
