// Helpers for the end-to-end tests: the lab CLI and commands on its machines.
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../integration/project";

export const LAB = path.join(ROOT, "lab", "lab");
export const KEY = path.join(ROOT, ".lab", "ssh", "id_ed25519");

export interface LabNode {
    hostname: string;
    mac: string;
    sshAddress: string;
    internalAddress: string;
}

const stack = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8")).config;
export const NODES: LabNode[] = stack["homelab:nodes"];
export const VIP: string = stack["homelab:vip"].address;

// Jest gives each test file a copy of process.env, which child processes do not inherit
// unless it is passed: a test's LAB_STACK_FILE must reach the lab.
export function lab(...args: string[]): string {
    return execFileSync(LAB, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: process.env });
}

/** A command inside a machine without SSH (nsenter), so that it does not count as a remote command. */
export function inside(node: string, command: string): string {
    return execFileSync(LAB, ["console", node, "bash", "-c", command], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: process.env }).trim();
}

/** Imports an image archive into a machine's containerd, as an air-gapped user would carry it in. */
export function importImage(node: string, archive: Buffer): void {
    execFileSync(LAB, ["console", node, "ctr", "-n", "k8s.io", "images", "import", "-"], { input: archive, stdio: ["pipe", "ignore", "pipe"], env: process.env });
}

export function ssh(address: string, command: string, timeoutSeconds = 10): { status: number | null; stdout: string } {
    const result = spawnSync("ssh", ["-i", KEY, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        "-o", `ConnectTimeout=${timeoutSeconds}`, `homeuser@${address}`, command], { encoding: "utf8", timeout: (timeoutSeconds + 5) * 1000 });
    return { status: result.status, stdout: (result.stdout ?? "").trim() };
}

export function pings(address: string): boolean {
    return spawnSync("ping", ["-c", "1", "-W", "1", address]).status === 0;
}

export function isOn(node: string): boolean {
    return new RegExp(`^${node}\\s+on\\b`, "m").test(lab("status"));
}

/** Lines of the power controller's log: one JSON object per magic packet it received. */
export function powerLog(): { time: string; mac: string; node: string; action: string }[] {
    const file = path.join(ROOT, ".lab", "power.log");
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

/** SSH logins a machine's sshd accepted so far, read from its journal without logging in. */
export function acceptedLogins(node: string): number {
    return Number(inside(node, "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey' || true"));
}

export async function waitFor(what: string, check: () => boolean, timeoutMs: number, stepMs = 500): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < timeoutMs) {
        if (check()) return Date.now() - start;
        await new Promise((resolve) => setTimeout(resolve, stepMs));
    }
    throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
}
