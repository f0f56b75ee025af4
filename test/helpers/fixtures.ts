// Sample inputs from the seed's lab: three ODROID-H2 servers on VLAN 2.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { InternalNetwork } from "../../components/vlan/render";
import { VipSettings } from "../../components/pacemaker/render";

export const SEED_NODES = [
    { hostname: "home-server-1", mac: "00:1e:06:1a:1b:1c", sshAddress: "192.168.10.101", internalAddress: "10.0.0.101" },
    { hostname: "home-server-2", mac: "00:1e:06:2a:2b:2c", sshAddress: "192.168.10.102", internalAddress: "10.0.0.102" },
    { hostname: "home-server-3", mac: "00:1e:06:3a:3b:3c", sshAddress: "192.168.10.103", internalAddress: "10.0.0.103" },
];

export const SEED_HOSTS = SEED_NODES.map((node) => ({ hostname: node.hostname, address: node.internalAddress }));

export const VLAN_NETWORK: InternalNetwork = { links: ["enp3s0"], vlanId: 2, addresses: ["10.0.0.101/24"], routes: [] };
export const UNTAGGED_NETWORK: InternalNetwork = { links: ["enp3s0"], addresses: ["10.77.0.11/24"], routes: [] };
/** The x99 seed bonds three ports. */
export const BONDED_VLAN_NETWORK: InternalNetwork = {
    links: ["enp1s0f0", "enp1s0f1", "enp2s0f0"],
    bond: { name: "bond0", mode: "802.3ad" },
    vlanId: 2,
    addresses: ["10.0.0.101/24"],
    mtu: 9000,
    routes: [{ to: "10.1.0.0/24", via: "10.0.0.1" }],
};

export const VIP_SETTINGS: VipSettings = {
    clusterName: "home",
    members: SEED_HOSTS,
    vip: "10.0.0.100",
    prefixLength: 24,
    interfaceName: "enp3s0.2",
    stonithEnabled: false,
    resourceStickiness: 60,
    monitorInterval: "5s",
    migrationThreshold: 2,
    failureTimeout: "60s",
    operationTimeout: "20s",
    healthCheckUrl: "https://127.0.0.1:6443/readyz",
};

export const THROWAWAY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nthrowaway-test-key-b3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";

/** A committed stack file as the engine hands it to the program: structured values as JSON text. */
export function runtimeConfigOf(stackFile: string): Record<string, string> {
    const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", stackFile), "utf8"));
    const all: Record<string, string> = {};
    for (const [key, value] of Object.entries<unknown>(doc.config)) all[key] = typeof value === "string" ? value : JSON.stringify(value);
    return all;
}

/**
 * A throwaway CA made by openssl, an admin kubeconfig that carries it, and the join hash kubeadm's
 * documentation computes from it with openssl (so the program's own computation is checked against the real tool).
 */
export function throwawayCa(): { kubeconfig: string; opensslHash: string } {
    const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "homelab-ca-"));
    const { execSync } = require("child_process") as typeof import("child_process");
    try {
        execSync(`openssl req -x509 -newkey rsa:2048 -nodes -keyout ${dir}/ca.key -out ${dir}/ca.crt -days 1 -subj /CN=kubernetes 2>/dev/null`);
        const opensslHash = execSync(`openssl x509 -pubkey -noout -in ${dir}/ca.crt | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex | sed 's/^.* //'`, { encoding: "utf8" }).trim();
        const kubeconfig = YAML.stringify({
            apiVersion: "v1", kind: "Config",
            clusters: [{ name: "home", cluster: { server: "https://10.0.0.100:6443", "certificate-authority-data": fs.readFileSync(`${dir}/ca.crt`).toString("base64") } }],
            users: [{ name: "kubernetes-admin", user: { "client-certificate-data": "c2VjcmV0", "client-key-data": "c2VjcmV0" } }],
        });
        return { kubeconfig, opensslHash: `sha256:${opensslHash}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
