import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { renderPowerOffScript } from "../baremetal/render";
import { Follows } from "../order";
import { renderClusterWaitScript, renderNooutUnsetScript, renderShutdownPreflightScript, renderVipHolderScript } from "./render";

export type PowerState = "on" | "off";

/** What the routine says when it ends, e.g. { state: "on", seconds: 212, at: "2026-12-04T17:00:00.000Z" }. */
export interface PowerReport {
    state: PowerState;
    seconds?: number;
    at?: string;
}

export interface PowerNode {
    /** e.g. home-server-1 */
    name: string;
    /** How this machine reaches it over SSH, e.g. 192.168.10.101 and 22. */
    host: string;
    port: number;
    /** The NIC that wakes, e.g. 00:1e:06:1a:1b:1c. */
    mac: string;
    role: "control-plane" | "worker";
    /** The host key every connection checks (BareMetalNode's recorded or pinned key). */
    hostKey: pulumi.Input<string>;
}

export interface LabPowerArgs extends Follows {
    /** The wanted state, e.g. "off" for a planned shutdown. */
    state: PowerState;
    /**
     * What the program saw when it started (a TCP probe of each node's SSH port, no login), e.g.
     * { "home-server-1": "on", "home-server-2": "off" }: a state that differs from the wanted one
     * (a power cut, a machine woken by hand) runs the routine; one that matches plans nothing.
     */
    seen: Record<string, PowerState>;
    nodes: PowerNode[];
    /** e.g. homeuser */
    user: pulumi.Input<string>;
    /** The SSH private key (a secret): the routine reads it on stdin. */
    privateKey: pulumi.Input<string>;
    wakeOnLan: { broadcast: string; port: number; timeoutSeconds: number };
    /** Whether the lab runs Kubernetes: the wait for the API and the nodes after power-on. */
    kubernetes: boolean;
    /** With Ceph: its own wait for HEALTH_OK with every OSD up and in (RookCeph.healthWaitScript); noout around a power-down. */
    storageWaitScript?: string;
    /** Shut down even when Ceph is not HEALTH_OK. */
    ignoreCephHealth: boolean;
    /** Whether a Pacemaker VIP runs on the control planes (its holder goes last). */
    vip: boolean;
}

const ROUTINE = path.relative(process.cwd(), path.join(__dirname, "routine.js"));

/** When a seen state is "different" enough to act: the wanted one unless every node already is so. */
export function powerMismatch(state: PowerState, seen: Record<string, PowerState>): string[] {
    return Object.entries(seen).filter(([, observed]) => observed !== state).map(([name]) => name).sort();
}

/**
 * The lab's power as a routine: `state: off` shuts every machine down in a safe order (Ceph
 * checked and noout set first, workers, then control planes, the VIP's holder last); `state: on`
 * sees it healthy again (every machine answering, the API with etcd's quorum, every node Ready,
 * noout unset, Ceph HEALTH_OK). The routine runs when the wanted state changes, or when what the
 * program saw differs from it (a power cut); otherwise nothing is planned and nothing runs.
 */
export class LabPower extends pulumi.ComponentResource {
    /** What the routine said when it last ran, e.g. { state: "on", seconds: 212, at: "2026-12-04T17:00:00Z" }. */
    readonly power: pulumi.Output<PowerReport>;
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: LabPowerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:LabPower", name, {}, opts);
        const mismatch = powerMismatch(args.state, args.seen);
        const storage = args.kubernetes ? args.storageWaitScript : undefined;
        const plan = pulumi.all([pulumi.all(args.nodes.map((node) => node.hostKey)), args.user]).apply(([hostKeys, user]) => JSON.stringify({
            user,
            nodes: args.nodes.map((node, index) => ({ name: node.name, host: node.host, port: node.port, mac: node.mac, role: node.role, hostKey: hostKeys[index] })),
            wakeOnLan: args.wakeOnLan,
            scripts: {
                preflight: args.kubernetes ? renderShutdownPreflightScript({ storage: storage !== undefined, ignoreCephHealth: args.ignoreCephHealth }) : undefined,
                vipHolder: args.vip ? renderVipHolderScript() : undefined,
                shutdown: Object.fromEntries(args.nodes.map((node) => [node.name, renderPowerOffScript(node.name)])),
                clusterWait: args.kubernetes ? renderClusterWaitScript({ timeoutSeconds: args.wakeOnLan.timeoutSeconds * 2 }) : undefined,
                nooutUnset: storage ? renderNooutUnsetScript(args.wakeOnLan.timeoutSeconds * 2) : undefined,
                storageWait: storage,
            },
        }));
        const routine = new command.local.Command(`${name}-routine`, {
            create: `node ${ROUTINE} ${args.state}`,
            // only a change of the wanted state, or a lab not in it, runs the routine (a replacement):
            // a new address, key or script is recorded without running anything
            update: "true",
            environment: { HOMELAB_POWER_PLAN: plan },
            stdin: pulumi.secret(args.privateKey),
            triggers: mismatch.length === 0 ? [args.state] : [args.state, `${mismatch.join(",")} seen ${args.state === "on" ? "off" : "on"} at ${new Date().toISOString()}`],
            logging: "stdoutAndStderr",
            addPreviousOutputInEnv: false,
        }, {
            parent: this,
            // last: everything else is in place before the lab is switched off or seen healthy
            dependsOn: args.after,
            // the lab as wanted: whatever made the triggers differ last time, nothing to do now
            ignoreChanges: mismatch.length === 0 ? ["triggers"] : [],
        });
        this.power = routine.stdout.apply((stdout): PowerReport => {
            const last = stdout.trim().split("\n").pop() ?? "";
            try {
                return JSON.parse(last) as PowerReport;
            } catch {
                // an update that ran nothing (a new address, key or script) says no more than the wanted state
                return { state: args.state };
            }
        });
        this.ready = [routine];
        this.registerOutputs({ power: this.power });
    }
}
