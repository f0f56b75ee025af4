// The composed home stack under mocks: the whole chain is registered, in order,
// and the kubeconfig output is a secret.
import * as pulumi from "@pulumi/pulumi";
import { byName, installMocks, isSecretOutput, registered, settle } from "./helpers/mocks";
import { runtimeConfigOf, THROWAWAY_KEY } from "./helpers/fixtures";

installMocks();

let program: Record<string, pulumi.Output<any> | undefined>;

// requiring the program compiles all of it (ts-jest): seconds on a busy machine, more than jest's 5 s default
beforeAll(async () => {
    pulumi.runtime.setAllConfig({ ...runtimeConfigOf("Pulumi.home.yaml"), "homelab:sshPrivateKey": THROWAWAY_KEY }, ["homelab:sshPrivateKey"]);
    program = await require("../index");
    await settle();
}, 120000);

function count(type: string): number {
    return registered.filter((resource) => resource.type === type).length;
}

test("every component of the chain is registered once per node or once per cluster", () => {
    expect({
        nodes: count("homelab:index:BareMetalNode"),
        networks: count("homelab:index:VlanInterface"),
        vip: count("homelab:index:PacemakerVip"),
        kubernetes: count("homelab:index:KubeadmCluster"),
        calico: count("homelab:index:CalicoNetwork"),
        rook: count("homelab:index:RookCeph"),
        backup: count("homelab:index:ClusterBackup"),
        restore: count("homelab:index:ClusterRestore"),
    }).toEqual({ nodes: 3, networks: 3, vip: 1, kubernetes: 1, calico: 1, rook: 1, backup: 1, restore: 0 });
});

test("the chain runs in order: nodes, network, VIP, kubeadm, Calico, Rook; every edge on the steps, none on a whole component", () => {
    for (const component of registered.filter((r) => r.type.startsWith("homelab:index:"))) expect({ name: component.name, dependsOn: component.dependsOn }).toEqual({ name: component.name, dependsOn: [] });
    expect(byName("home-server-1-internal-netplan").dependsOn).toEqual(["home-server-1-poweroff"]);
    expect(byName("home-vip-packages-home-server-2").dependsOn).toEqual(["home-server-2-internal-netplan"]);
    // members one at a time: a member that must restart is back before the next one may
    expect(byName("home-vip-member-home-server-2").dependsOn).toEqual(["home-vip-packages-home-server-2", "home-server-2-internal-netplan", "home-vip-member-home-server-1"]);
    expect(byName("home-vip-vip").dependsOn).toEqual(["home-vip-member-home-server-1", "home-vip-member-home-server-2", "home-vip-member-home-server-3"]);
    // a node's packages wait only for the node; init and joins for the VIP and every node's network
    expect(byName("home-kubernetes-home-server-2-packages").dependsOn).toEqual(["home-server-2-poweroff"]);
    const networks = ["home-server-1-internal-netplan", "home-server-2-internal-netplan", "home-server-3-internal-netplan"];
    expect(byName("home-kubernetes-init").dependsOn).toEqual(["home-kubernetes-home-server-1-packages", "home-vip-vip", ...networks]);
    expect(byName("home-kubernetes-home-server-3-join").dependsOn).toEqual(["home-kubernetes-home-server-3-packages", "home-kubernetes-home-server-2-join", "home-kubernetes-home-server-3-admission", "home-vip-vip", ...networks]);
    const kubeadmDone = ["home-kubernetes-init", "home-kubernetes-home-server-2-join", "home-kubernetes-home-server-3-join", "home-kubernetes-join-secrets-cleanup", "home-kubernetes-kubeconfig",
        "home-kubernetes-home-server-1-graceful-shutdown", "home-kubernetes-home-server-2-graceful-shutdown", "home-kubernetes-home-server-3-graceful-shutdown",
        "home-kubernetes-home-server-1-certificates", "home-kubernetes-home-server-2-certificates", "home-kubernetes-home-server-3-certificates", "home-kubernetes-admin-kubeconfig"];
    // a control plane's certificates are checked after its kubelet restarted for graceful shutdown, one node at a time
    expect(byName("home-kubernetes-home-server-2-certificates").dependsOn).toEqual(["home-kubernetes-home-server-2-join", "home-kubernetes-home-server-2-graceful-shutdown", "home-kubernetes-home-server-1-certificates"]);
    expect(byName("home-calico-operator").dependsOn).toEqual(kubeadmDone);
    expect(byName("home-rook-devices-home-server-1").dependsOn).toEqual(["home-kubernetes-home-server-1-packages"]);
    expect(byName("home-rook-operator").dependsOn).toEqual(["home-calico-wait", "home-rook-devices-home-server-1", "home-rook-devices-home-server-2", "home-rook-devices-home-server-3"]);
});

test("the etcd snapshot follows the whole cluster and goes before the power routine (a planned power-off is a risky step); none kept here yet, so it is due", () => {
    const snapshot = byName("home-backup-snapshot");
    expect(snapshot.dependsOn).toEqual(expect.arrayContaining(["home-kubernetes-admin-kubeconfig", "home-kubernetes-home-server-3-certificates", "home-rook-wait", "home-rook-filesystem-storage-class"]));
    // nodes taken out of the config leave Kubernetes and etcd after Ceph took its data off them, and before the snapshot
    expect(byName("home-kubernetes-departures").dependsOn).toEqual(expect.arrayContaining(["home-kubernetes-init", "home-rook-wait", "home-rook-block-storage-class"]));
    expect(snapshot.dependsOn).toContain("home-kubernetes-departures");
    expect(byName("home-power-routine").dependsOn).toContain("home-backup-snapshot");
    expect(snapshot.inputs.triggers).toEqual([expect.stringMatching(/^no snapshot kept yet \(seen \d{4}-/)]);
    expect(JSON.parse(snapshot.inputs.environment.HOMELAB_BACKUP_PLAN).directory).toMatch(/\/\.local\/share\/homelab\/backups\/home$/);
});

test("both Kubernetes providers name the cluster, so a re-read kubeconfig (unknown at preview) plans their update, never their replacement", () => {
    for (const provider of ["home-calico-provider", "home-rook-provider"]) expect(byName(provider).inputs.clusterIdentifier).toBe("homelab/home");
});

test("outputs: the kubeconfig is a secret, the rest is plain", async () => {
    expect(await isSecretOutput(program.kubeconfig!)).toBe(true);
    expect(await isSecretOutput(program.vip!)).toBe(false);
    expect(program.podCidr).toBe("172.16.0.0/16");
    expect(program.nodes).toEqual([
        { name: "home-server-1", address: "192.168.10.101", internalAddress: "10.0.0.101", roles: ["control-plane", "worker"] },
        { name: "home-server-2", address: "192.168.10.102", internalAddress: "10.0.0.102", roles: ["control-plane", "worker"] },
        { name: "home-server-3", address: "192.168.10.103", internalAddress: "10.0.0.103", roles: ["control-plane", "worker"] },
    ]);
});

test("without vip.operationTimeout the VIP's operations get Pacemaker's default, 20s, written out", () => {
    const cib = byName("home-vip-vip").inputs.create as string;
    for (const op of ["monitor", "start", "stop"]) expect(cib).toMatch(new RegExp(`<op id="kube-api-vip-${op}" name="${op}" interval="[^"]+" timeout="20s"/>`));
});
