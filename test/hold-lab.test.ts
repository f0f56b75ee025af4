// scripts/hold-lab.sh, run for real with a lock file of its own: one holder of the simulated lab at a
// time, a second one told who has it, and the lock gone with the command (not kept by its daemons).
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const SCRIPT = path.join(__dirname, "..", "scripts", "hold-lab.sh");

function holdLab(lock: string, waitMinutes: string, label: string, command: string) {
    return spawnSync("bash", [SCRIPT, label, "bash", "-c", command], {
        encoding: "utf8",
        env: { ...process.env, HOMELAB_LAB_LOCK: lock, HOMELAB_LAB_WAIT_MINUTES: waitMinutes },
    });
}

describe("hold-lab.sh", () => {
    let dir: string;
    let lock: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-hold-lab-"));
        lock = path.join(dir, "lab.lock");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("runs the command with the lab held, passes its status on and tells it who holds the lab", () => {
        const run = holdLab(lock, "1", "suite A", 'echo "held by $HOMELAB_LAB_HELD"; exit 3');
        expect(run.stdout).toContain("held by suite A");
        expect(run.status).toBe(3);
        expect(fs.readFileSync(`${lock}.holder`, "utf8")).toMatch(/^suite A \(pid \d+, since \d{4}-/);
    });

    test("a second holder fails after its wait, naming the one that has the lab", async () => {
        const marker = path.join(dir, "first-started");
        const first = spawn("bash", [SCRIPT, "suite A", "bash", "-c", `touch ${marker}; sleep 30`], {
            env: { ...process.env, HOMELAB_LAB_LOCK: lock },
            stdio: "ignore",
        });
        try {
            for (let i = 0; i < 100 && !fs.existsSync(marker); i++) await new Promise((r) => setTimeout(r, 100));
            expect(fs.existsSync(marker)).toBe(true);
            const second = holdLab(lock, "0", "suite B", "echo ran");
            expect(second.stdout).toContain("the simulated lab is in use by suite A (pid");
            expect(second.stdout).not.toContain("ran");
            expect(second.stderr).toContain("suite B could not have the simulated lab within 0 min: it is still in use by suite A");
            expect(second.status).toBe(75);
        } finally {
            first.kill("SIGTERM");
        }
    });

    test("a daemon the command leaves running does not keep the lab", () => {
        const daemon = holdLab(lock, "0", "demo", "setsid sleep 30 >/dev/null 2>&1 < /dev/null & echo $! > " + path.join(dir, "daemon.pid"));
        expect(daemon.status).toBe(0);
        try {
            const next = holdLab(lock, "0", "suite", "echo ran");
            expect(next.stdout).toContain("ran");
            expect(next.status).toBe(0);
        } finally {
            spawnSync("kill", [fs.readFileSync(path.join(dir, "daemon.pid"), "utf8").trim()]);
        }
    });

    test("a wait that is not a whole number of minutes is refused, naming the variable", () => {
        const run = holdLab(lock, "ten", "suite", "echo ran");
        expect(run.status).toBe(2);
        expect(run.stderr).toContain("HOMELAB_LAB_WAIT_MINUTES must be a whole number of minutes, not 'ten'");
    });
});
