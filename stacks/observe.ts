// What the program sees of the lab's power when it starts, before it plans anything: each node's
// SSH port probed from this machine (a TCP connection and the server's banner; no login, so a
// no-op up still opens no SSH session), all at once, 3 s each at most.
import { PowerState } from "../components/power";
import { HomelabConfig } from "./config";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { sshAnswers } = require("../components/baremetal/power.js") as { sshAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> };

const PROBE_MS = 3000;

export async function observePower(config: Pick<HomelabConfig, "nodes" | "ssh">): Promise<Record<string, PowerState>> {
    const answers = await Promise.all(config.nodes.map((node) => sshAnswers(node.sshAddress, config.ssh.port, PROBE_MS)));
    return Object.fromEntries(config.nodes.map((node, index) => [node.hostname, answers[index] ? "on" : "off"]));
}
