// Three real etcd members on loopback (the offline build's etcd, etcdctl and etcdutl: the versions
// the lab's etcd image carries), each "node" a folder, for running the restore's stage scripts
// against real etcd: nsenter is a stand-in that runs the real tool where a script would enter
// etcd's container. Used by test/restore-etcd.test.ts and the etcd benchmark.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { standIns, StandIns } from "./standins";

const OFFLINE = process.env.HOMELAB_OFFLINE_CACHE ?? path.join(os.homedir(), ".cache", "homelab", "offline");

/** The offline build's folder with etcd, etcdctl and etcdutl, or undefined (say why with ETCD_MISSING). */
export const ETCD_BIN = (fs.existsSync(OFFLINE) ? fs.readdirSync(OFFLINE) : []).filter((dir) => dir.startsWith("kubernetes-v"))
    .map((dir) => path.join(OFFLINE, dir, "bin")).find((bin) => ["etcd", "etcdctl", "etcdutl"].every((tool) => fs.existsSync(path.join(bin, tool))));
export const ETCD_MISSING = `no offline build with etcd, etcdctl and etcdutl in ${OFFLINE} (npm run build:offline)`;

/** pgrep: etcd runs while its manifest is in place. */
const PGREP = `[ -e "$NODE_ROOT/etc/kubernetes/manifests/etcd.yaml" ] && echo 4242`;
/** nsenter into etcd's mount namespace: the real tool, etcdctl against this node's member. */
const NSENTER = `shift 4
tool=$1; shift
if [ "$tool" = etcdctl ]; then
  args=(); for a in "$@"; do case $a in --endpoints=*|--cacert=*|--cert=*|--key=*) ;; *) args+=("$a") ;; esac; done
  exec "$ETCD_BIN/etcdctl" --endpoints="http://127.0.0.1:$NODE_CLIENT" "\${args[@]}"
fi
exec "$ETCD_BIN/$tool" "$@"`;

export interface EtcdMember { name: string; client: number; peer: number }

export class EtcdLoopback {
    readonly box: StandIns;
    readonly members: EtcdMember[];
    readonly initialCluster: string;
    private running: ChildProcess[] = [];

    /** Three members' folders with an etcd manifest and a cluster CA (`ca`, the content of ca.crt); none started. */
    constructor(ca = "ca.crt\n") {
        if (!ETCD_BIN) throw new Error(ETCD_MISSING);
        this.box = standIns({ pgrep: PGREP, nsenter: NSENTER, systemctl: "true", kubectl: "true" });
        const base = 24000 + Math.floor(Math.random() * 20000);
        this.members = [0, 1, 2].map((index) => ({ name: `m${index + 1}`, client: base + index * 2, peer: base + index * 2 + 1 }));
        this.initialCluster = this.members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
        for (const [index, m] of this.members.entries()) {
            fs.mkdirSync(path.join(this.root(index), "etc/kubernetes/manifests"), { recursive: true });
            fs.mkdirSync(path.join(this.root(index), "etc/kubernetes/pki"), { recursive: true });
            fs.writeFileSync(path.join(this.root(index), "etc/kubernetes/pki/ca.crt"), ca);
            fs.writeFileSync(path.join(this.root(index), "etc/kubernetes/manifests/etcd.yaml"),
                `spec:\n  containers:\n  - command:\n    - etcd\n    - --name=${m.name}\n    - --initial-advertise-peer-urls=http://127.0.0.1:${m.peer}\n`);
        }
    }

    root(index: number): string {
        return path.join(this.box.dir, `node-${index}`);
    }

    tool(name: "etcdctl" | "etcdutl", args: string[], timeout = 120000) {
        return spawnSync(path.join(ETCD_BIN!, name), args, { encoding: "utf8", timeout, maxBuffer: 64 * 1024 * 1024 });
    }

    etcdctl(index: number, ...args: string[]) {
        return this.tool("etcdctl", [`--endpoints=http://127.0.0.1:${this.members[index].client}`, ...args]);
    }

    start(): void {
        this.running = this.members.map((m, index) => spawn(path.join(ETCD_BIN!, "etcd"), [
            `--name=${m.name}`, `--data-dir=${path.join(this.root(index), "var/lib/etcd")}`,
            `--listen-client-urls=http://127.0.0.1:${m.client}`, `--advertise-client-urls=http://127.0.0.1:${m.client}`,
            `--listen-peer-urls=http://127.0.0.1:${m.peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${m.peer}`,
            `--initial-cluster=${this.initialCluster}`, "--initial-cluster-state=new", "--log-level=error",
        ], { stdio: "ignore" }));
    }

    async healthy(timeoutMs = 60000): Promise<void> {
        for (const started = Date.now(); ;) {
            if (this.members.every((_, index) => this.etcdctl(index, "endpoint", "health").status === 0)) return;
            if (Date.now() - started > timeoutMs) throw new Error(`the etcd members are not healthy after ${timeoutMs / 1000} s`);
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    }

    async stop(): Promise<void> {
        await Promise.all(this.running.map((child) => new Promise((resolve) => {
            if (child.exitCode !== null) return resolve(undefined);
            child.once("exit", resolve);
            child.kill("SIGTERM");
        })));
        this.running = [];
    }

    /** A stage script as it runs on node `index`, with RESTORE_* assignments before it. */
    stage(index: number, rendered: string, vars: Record<string, string> = {}) {
        const assignments = Object.entries(vars).map(([name, value]) => `${name}='${value}'\n`).join("");
        const text = this.box.runnable(rendered, { "/var/lib/etcd": `node-${index}/var/lib/etcd`, "/etc/kubernetes": `node-${index}/etc/kubernetes` });
        return spawnSync("bash", ["-c", `${assignments}${text}`], {
            encoding: "utf8", timeout: 600000,
            env: { ...process.env, NODE_ROOT: this.root(index), NODE_CLIENT: String(this.members[index].client), ETCD_BIN: ETCD_BIN! },
        });
    }

    async cleanup(): Promise<void> {
        await this.stop();
        this.box.cleanup();
    }
}
