// Figures, not assertions: how long the lab takes, measured in one run so that
// the ratios compare like with like on a shared, noisy machine.
// Run: npm run bench (prints a table; nothing here can fail on a number).
import { editStackConfig, scratchProject, ScratchProject } from "../integration/project";
import { isOn, lab, NODES, pings, ssh, VIP, waitFor } from "../e2e/lab";

jest.setTimeout(60 * 60 * 1000);
const figures: [string, string][] = [];
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function timedUp(project: ScratchProject): Promise<number> {
    const start = Date.now();
    await project.stack.up({ onOutput: () => undefined });
    await waitFor("the VIP answering", () => pings(VIP), 60000, 200);
    return Date.now() - start;
}

async function freshStack(nodeCount: number): Promise<ScratchProject> {
    lab("down", "--purge");
    lab("up");
    const project = await scratchProject("lab", { setKey: false });
    editStackConfig(project, "homelab:nodes", (nodes) => nodes.slice(0, nodeCount));
    return project;
}

test("lab figures", async () => {
    const one = await freshStack(1);
    const oneMachine = await timedUp(one);
    await one.stack.destroy({ onOutput: () => undefined });
    one.cleanup();
    figures.push(["all off → VIP answers, 1 machine", seconds(oneMachine)]);

    const three = await freshStack(NODES.length);
    const threeMachines = await timedUp(three);
    figures.push([`all off → VIP answers, ${NODES.length} machines`, seconds(threeMachines)]);
    figures.push([`ratio ${NODES.length} machines / 1 machine (target ≤ 1.3)`, (threeMachines / oneMachine).toFixed(2)]);

    const noopStart = Date.now();
    await three.stack.up({ onOutput: () => undefined });
    const noop = Date.now() - noopStart;
    figures.push(["no-op pulumi up on the converged lab", seconds(noop)]);
    figures.push(["no-op / full run (target < 2 %)", `${((noop / threeMachines) * 100).toFixed(1)} %`]);

    const failovers: number[] = [];
    for (let round = 0; round < 5; round++) {
        const holder = ssh(VIP, "hostname").stdout;
        const pulled = Date.now();
        lab("power-off", holder, "--hard");
        await waitFor("the VIP on another machine", () => { const a = ssh(VIP, "hostname", 2); return a.status === 0 && a.stdout !== holder; }, 60000, 100);
        failovers.push(Date.now() - pulled);
        lab("power-on", holder);
        await waitFor(`${holder} back`, () => isOn(holder) && ssh(NODES.find((n) => n.hostname === holder)!.sshAddress, "sudo corosync-quorumtool -s | grep -q 'Total votes: *3'", 2).status === 0, 180000, 1000);
    }
    figures.push([`VIP failover after pulling the plug, median of ${failovers.length} (target < 15 s)`, seconds(median(failovers))]);
    figures.push(["VIP failover, all runs", failovers.map(seconds).join(", ")]);
    await three.stack.destroy({ onOutput: () => undefined });
    three.cleanup();
    lab("down");
});

afterAll(() => {
    const width = Math.max(...figures.map(([name]) => name.length));
    process.stdout.write(`\nlab benchmark (${new Date().toISOString()}, ${require("os").cpus().length} cores)\n`);
    for (const [name, value] of figures) process.stdout.write(`  ${name.padEnd(width)}  ${value}\n`);
});
