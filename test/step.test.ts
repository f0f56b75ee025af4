// The step wrapper (components/step.ts) run for real with bash: what it records on the node,
// when an update runs nothing, and that a step's input never reaches a command line.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderStep, STEP_RECORD_DIR } from "../components/step";
import { script } from "../components/script";
import { expectGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { standIns, StandIns } from "./helpers/standins";

let box: StandIns;
let recordDir: string;

beforeEach(() => {
    box = standIns({});
    recordDir = path.join(box.dir, "steps");
});
afterEach(() => box.cleanup());

/** Runs the wrapper of `body` with its record directory moved into the test's directory. */
function runStep(name: string, body: string, phase: "create" | "update", stdin = "") {
    const wrapper = renderStep(name, script(body), phase).split(STEP_RECORD_DIR).join(recordDir);
    return spawnSync("bash", ["-c", wrapper], { input: stdin, encoding: "utf8", timeout: 30000 });
}

const counter = () => path.join(box.dir, "runs");
const runs = () => (fs.existsSync(counter()) ? fs.readFileSync(counter(), "utf8").split("\n").filter(Boolean).length : 0);
const COUNTING = () => `echo run >> ${counter()}\nIFS= read -r input || true\necho "output for $input"`;

test("the wrapper matches its golden and passes shellcheck", () => {
    for (const phase of ["create", "update"] as const) {
        const rendered = renderStep("home-server-1-prepare", script("echo prepared"), phase);
        expectGolden(`${phase}.sh`, rendered);
        expectShellcheckClean(`step-${phase}`, rendered);
    }
});

test("create always runs the script and records the digest of script and input, then its stdout", () => {
    for (let i = 0; i < 2; i++) {
        const result = runStep("n1-prepare", COUNTING(), "create", "secret-1\n");
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("output for secret-1\n");
    }
    expect(runs()).toBe(2);
    const record = fs.readFileSync(path.join(recordDir, "n1-prepare"), "utf8").split("\n");
    expect(record[0]).toMatch(/^[0-9a-f]{64}:[0-9a-f]{64}$/);
    expect(record.slice(1).join("\n")).toBe("output for secret-1\n");
    expect(fs.statSync(recordDir).mode & 0o777).toBe(0o700);
});

test("an update with the same script and input runs nothing and prints the recorded stdout again", () => {
    expect(runStep("n1-prepare", COUNTING(), "create", "secret-1\n").status).toBe(0);
    const update = runStep("n1-prepare", COUNTING(), "update", "secret-1\n");
    expect(update.status).toBe(0);
    expect(runs()).toBe(1);
    expect(update.stdout).toBe("output for secret-1\n");
    expect(update.stderr).toContain("n1-prepare: this script already completed");
});

test("an update runs the script when the script, or only its input (a rotated secret), changed", () => {
    expect(runStep("n1-prepare", COUNTING(), "create", "secret-1\n").status).toBe(0);
    expect(runStep("n1-prepare", COUNTING(), "update", "secret-2\n").stdout).toBe("output for secret-2\n");
    expect(runs()).toBe(2);
    expect(runStep("n1-prepare", `${COUNTING()}\necho changed`, "update", "secret-2\n").stdout).toBe("output for secret-2\nchanged\n");
    expect(runs()).toBe(3);
    // and then the new pair is what counts as done
    runStep("n1-prepare", `${COUNTING()}\necho changed`, "update", "secret-2\n");
    expect(runs()).toBe(3);
});

test("a node without the record (reinstalled, or a step made before records existed) runs the update", () => {
    const update = runStep("n1-prepare", COUNTING(), "update", "x\n");
    expect(update.status).toBe(0);
    expect(runs()).toBe(1);
    expect(fs.existsSync(path.join(recordDir, "n1-prepare"))).toBe(true);
});

test("a failed script records nothing, keeps an earlier record, and fails the step with the script's stderr", () => {
    expect(runStep("n1-join", COUNTING(), "create", "a\n").status).toBe(0);
    const before = fs.readFileSync(path.join(recordDir, "n1-join"), "utf8");
    const failed = runStep("n1-join", `${COUNTING()}\necho "half done" >&2\nexit 3`, "update", "a\n");
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toContain("half done");
    expect(fs.readFileSync(path.join(recordDir, "n1-join"), "utf8")).toBe(before);
    // the next update runs the (fixed) script again rather than trusting the failed one
    expect(runStep("n1-join", `${COUNTING()}\necho fixed`, "update", "a\n").status).toBe(0);
    expect(runs()).toBe(3);
});

test("the input reaches the script on stdin and is left nowhere: not in a command line, not on disk", () => {
    const secret = "s3cr3t-Zq8vK2mN4pL7wX1c";
    const trace = path.join(box.dir, "trace");
    const wrapper = renderStep("n1-member", script(`IFS= read -r key\nprintf '%s' "$key" > ${box.dir}/received\necho got-it\nls /run | grep homelab-step > ${box.dir}/scratch || true`), "create")
        .split(STEP_RECORD_DIR).join(recordDir);
    const result = spawnSync("strace", ["-f", "-qq", "-s", "1000000", "-e", "trace=execve", "-o", trace, "bash", "-c", wrapper], { input: `${secret}\n`, encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("got-it\n");
    expect(fs.readFileSync(path.join(box.dir, "received"), "utf8")).toBe(secret);
    const execs = fs.readFileSync(trace, "utf8");
    expect(execs).toContain("execve(");
    expect(execs).not.toContain(secret);
    // the scratch directory was there during the step (in /run, memory) and is gone after it
    expect(fs.readFileSync(path.join(box.dir, "scratch"), "utf8")).toMatch(/homelab-step\./);
    expect(fs.readdirSync("/run").filter((entry) => entry.startsWith("homelab-step."))).toEqual([]);
    expect(fs.readFileSync(path.join(recordDir, "n1-member"), "utf8")).not.toContain(secret);
});

test("a name that cannot be a file name is refused", () => {
    expect(() => renderStep("../etc/passwd", "true", "create")).toThrow(/cannot name a file/);
});
