// What the program sees of the lab when it starts, before it plans anything, from this machine
// and without logging in (a no-op up opens no SSH session), all nodes at once, 3 s each at most:
// - each node's power: its SSH port answers with a banner;
// - each control plane's certificates: the expiry of the certificate its API server serves (read in
//   the TLS handshake; nothing is sent), which kubeadm made with the others on that node;
// - each control plane's Kubernetes version: its API server's /version, which it tells anyone;
// - when the newest etcd snapshot kept on this machine was taken (its file name).
import * as fs from "fs";
import * as https from "https";
import * as tls from "tls";
import { snapshotTakenAt } from "../components/backup";
import { PowerState } from "../components/power";
import { HomelabConfig } from "./config";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { sshAnswersPatiently } = require("../components/baremetal/power.js") as { sshAnswersPatiently(host: string, port: number, timeoutMs: number): Promise<boolean> };

const PROBE_MS = 3000;
const API_PORT = 6443;

/** The lab as the program saw it when it started. */
export interface Observed {
    /** Each node's power, e.g. { "home-server-1": "on" }. */
    power: Record<string, PowerState>;
    /** Per control plane seen on: when the certificate its API server serves expires (ISO 8601). */
    certificates: Record<string, string>;
    /** Per control plane whose API server answered: the Kubernetes version it runs, e.g. { "home-server-1": "v1.37.2" }. */
    apiVersions: Record<string, string>;
    /** When the newest snapshot of the cluster kept here was taken; undefined when there is none. */
    newestSnapshot?: Date;
    at: Date;
}

export async function observeLab(config: Pick<HomelabConfig, "nodes" | "ssh" | "kubernetes" | "clusterName" | "derived">): Promise<Observed> {
    const at = new Date();
    const power = await observePower(config);
    const [certificates, apiVersions] = await Promise.all([observeCertificates(config, power), observeApiVersions(config, power)]);
    return { power, certificates, apiVersions, newestSnapshot: newestSnapshot(config.derived.backupDirectory, config.clusterName), at };
}

/** When the newest of the cluster's snapshots in `directory` was taken, by its name; undefined when there is none (or no folder yet). */
export function newestSnapshot(directory: string, clusterName: string): Date | undefined {
    const files = fs.existsSync(directory) ? fs.readdirSync(directory) : [];
    const taken = files.map((file) => snapshotTakenAt(clusterName, file)).filter((date): date is Date => date !== undefined);
    return taken.sort((a, b) => b.getTime() - a.getTime())[0];
}

export async function observePower(config: Pick<HomelabConfig, "nodes" | "ssh">): Promise<Record<string, PowerState>> {
    // a machine that misses a probe is asked again before it counts as off: a loaded one can miss one
    const answers = await Promise.all(config.nodes.map((node) => sshAnswersPatiently(node.sshAddress, config.ssh.port, PROBE_MS)));
    return Object.fromEntries(config.nodes.map((node, index) => [node.hostname, answers[index] ? "on" : "off"]));
}

/** The expiry (ISO 8601) of the certificate served at host:port, or undefined when nothing answers with one within timeoutMs. */
export function servedCertificateExpiry(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        // only the expiry is read: the certificate is not trusted for anything, so it is not verified
        const socket = tls.connect({ host, port, rejectUnauthorized: false, timeout: timeoutMs });
        const done = (expiry: string | undefined) => { socket.destroy(); resolve(expiry); };
        socket.once("secureConnect", () => {
            const validTo = socket.getPeerCertificate()?.valid_to;
            done(validTo ? new Date(validTo).toISOString() : undefined);
        });
        socket.once("timeout", () => done(undefined));
        socket.once("error", () => done(undefined));
    });
}

/** Per control plane seen on: when the certificate its API server serves expires; none with Kubernetes off. */
export async function observeCertificates(config: Pick<HomelabConfig, "nodes" | "kubernetes">, seen: Record<string, PowerState>): Promise<Record<string, string>> {
    if (!config.kubernetes.enabled) return {};
    const controlPlanes = config.nodes.filter((node) => node.role === "control-plane" && seen[node.hostname] === "on");
    const expiries = await Promise.all(controlPlanes.map((node) => servedCertificateExpiry(node.sshAddress, API_PORT, PROBE_MS)));
    return Object.fromEntries(controlPlanes.flatMap((node, index) => (expiries[index] ? [[node.hostname, expiries[index]]] : [])));
}

/**
 * The gitVersion an API server at host:port reports on /version (e.g. v1.37.2), or undefined when
 * none answers within timeoutMs. /version needs no credentials (kubeadm's clusters grant it to
 * everyone); the server's certificate is not verified, since nothing is sent and only the version is read.
 */
export function servedVersion(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const request = https.get({ host, port, path: "/version", rejectUnauthorized: false, timeout: timeoutMs }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk) => { body += chunk; });
            response.on("end", () => {
                try {
                    const version = response.statusCode === 200 ? JSON.parse(body)?.gitVersion : undefined;
                    resolve(typeof version === "string" && /^v?\d+\.\d+\.\d+/.test(version) ? version : undefined);
                } catch {
                    resolve(undefined);
                }
            });
        });
        request.on("timeout", () => { request.destroy(); resolve(undefined); });
        request.on("error", () => resolve(undefined));
    });
}

/** Per control plane seen on whose API server answers: the version it runs; none with Kubernetes off. */
export async function observeApiVersions(config: Pick<HomelabConfig, "nodes" | "kubernetes">, seen: Record<string, PowerState>): Promise<Record<string, string>> {
    if (!config.kubernetes.enabled) return {};
    const controlPlanes = config.nodes.filter((node) => node.role === "control-plane" && seen[node.hostname] === "on");
    const versions = await Promise.all(controlPlanes.map((node) => servedVersion(node.sshAddress, API_PORT, PROBE_MS)));
    return Object.fromEntries(controlPlanes.flatMap((node, index) => (versions[index] ? [[node.hostname, versions[index]]] : [])));
}
