// Runs shellcheck on rendered scripts. Without shellcheck the check is skipped
// with a message, except in CI (process.env.CI set), where it must not be skipped.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

let available: boolean | undefined;
let warned = false;

export function shellcheckAvailable(): boolean {
    if (available === undefined) available = spawnSync("shellcheck", ["--version"], { encoding: "utf8" }).status === 0;
    return available;
}

/** Fails (throws) when shellcheck reports anything of severity warning or worse in `script`. */
export function expectShellcheckClean(name: string, script: string): void {
    if (!shellcheckAvailable()) {
        if (process.env.CI) throw new Error("shellcheck is not installed, and CI must check every rendered script: apt-get install -y shellcheck");
        if (!warned) console.warn("shellcheck is not installed: rendered scripts are NOT checked (apt-get install -y shellcheck)");
        warned = true;
        return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-shellcheck-"));
    const file = path.join(dir, name.replace(/[^A-Za-z0-9_.-]/g, "_"));
    try {
        fs.writeFileSync(file, script);
        const result = spawnSync("shellcheck", ["-s", "bash", "-S", "warning", "-f", "gcc", file], { encoding: "utf8" });
        if (result.error) throw result.error;
        if (result.status !== 0) throw new Error(`shellcheck found problems in ${name}:\n${result.stdout}${result.stderr}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
