// The composed lab stack (air-gapped) under mocks: each node's image imports for
// Calico and Rook wait only for that node's containerd, so they overlap kubeadm;
// applying Calico and Rook still waits for the cluster and the pod network.
import * as pulumi from "@pulumi/pulumi";
import { byName, installMocks, registered, settle } from "./helpers/mocks";
import { dependencyNamesOf, recordDependencies } from "./helpers/deps";
import { runtimeConfigOf, THROWAWAY_KEY } from "./helpers/fixtures";

installMocks();
recordDependencies();

const NODES = ["lab-1", "lab-2", "lab-3"];

// requiring the program compiles all of it (ts-jest): seconds on a busy machine, more than jest's 5 s default
beforeAll(async () => {
    const config = runtimeConfigOf("Pulumi.lab.yaml");
    // the lab's key file exists only once the lab has run; the key is given as config instead
    const { privateKeyFile: _file, ...ssh } = JSON.parse(config["homelab:ssh"]);
    pulumi.runtime.setAllConfig({ ...config, "homelab:ssh": JSON.stringify(ssh), "homelab:sshPrivateKey": THROWAWAY_KEY }, ["homelab:sshPrivateKey"]);
    await require("../index");
    await settle();
}, 120000);

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

test("a destroy starts with the claims guard alone: it is the one resource nothing depends on, so while it refuses nothing else is deleted", () => {
    // the engine deletes a resource only after everything that depends on it, children before parents;
    // providers are left out, the engine deletes them after the resources they manage
    const resources = registered.filter((resource) => resource.type !== "pulumi:pulumi:Stack" && !resource.type.startsWith("pulumi:providers:"));
    const dependedOn = new Set<string>();
    for (const resource of resources) {
        for (const dependency of dependencyNamesOf(resource.name)) dependedOn.add(dependency);
        if (resource.parent) dependedOn.add(resource.parent);
    }
    expect(resources.filter((resource) => !dependedOn.has(resource.name)).map((resource) => resource.name)).toEqual(["lab-rook-claims-guard"]);
});

test("the lab's VIP operations get the stack's operationTimeout (60s)", () => {
    const cib = byName("lab-vip-vip").inputs.create as string;
    for (const op of ["monitor", "start", "stop"]) expect(cib).toMatch(new RegExp(`<op id="kube-api-vip-${op}" name="${op}" interval="[^"]+" timeout="60s"/>`));
});

test("the lab's Rook operator lets ceph commands run 60 s", () => {
    expect(byName("lab-rook-operator").inputs.create).toContain(`"ROOK_CEPH_COMMANDS_TIMEOUT_SECONDS":"60"`);
});

test("the lab's wait for Ceph's health is bounded at the stack's 45 minutes", () => {
    expect(byName("lab-rook-wait").inputs.create).toContain("-lt 2700 ]");
});

test("the lab's Ceph daemons are probed every 60 s with 30 s to answer", () => {
    const cluster = byName("lab-rook-cluster").inputs;
    expect(cluster.spec.healthCheck.livenessProbe.osd.probe).toEqual({ timeoutSeconds: 30, periodSeconds: 60, failureThreshold: 5 });
    expect(cluster.spec.healthCheck.startupProbe.mon.probe).toEqual({ timeoutSeconds: 30, periodSeconds: 60 });
    expect(byName("lab-rook-filesystem").inputs.spec.metadataServer).not.toHaveProperty("startupProbe");
    expect(byName("lab-rook-filesystem").inputs.spec.metadataServer.livenessProbe.probe.timeoutSeconds).toBe(30);
});
