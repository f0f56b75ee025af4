// Runs a rendered script with bash against stand-in commands, for tests of what a script
// does with what it is told (exit codes, messages, calls), where the real tool needs a cluster.
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface StandIns {
    /** Holds the stand-in commands and whatever files the test gives them. */
    dir: string;
    /** The rendered script with the stand-ins first on its PATH, and `paths` moved into `dir`: the only edits. */
    runnable(rendered: string, paths?: Record<string, string>): string;
    run(rendered: string, paths?: Record<string, string>): SpawnSyncReturns<string>;
    cleanup(): void;
}

/** `commands`: name → bash body of a stand-in; `$STANDINS` in a body is the stand-ins' directory. */
export function standIns(commands: Record<string, string>): StandIns {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-standins-"));
    for (const [name, body] of Object.entries(commands)) {
        fs.writeFileSync(path.join(dir, name), `#!/bin/bash\nSTANDINS=${dir}\n${body}\n`, { mode: 0o755 });
    }
    const runnable = (rendered: string, paths: Record<string, string> = {}) => {
        if (!/^export PATH=.*$/m.test(rendered)) throw new Error("the script sets no PATH for the stand-ins to go first on");
        let text = rendered.replace(/^export PATH=(.*)$/m, `export PATH=${dir}:$1`);
        for (const [original, replacement] of Object.entries(paths)) {
            if (!text.includes(original)) throw new Error(`the script does not mention ${original}`);
            text = text.split(original).join(path.join(dir, replacement));
        }
        return text;
    };
    return {
        dir,
        runnable,
        run: (rendered, paths) => spawnSync("bash", ["-c", runnable(rendered, paths)], { encoding: "utf8", timeout: 60000 }),
        cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}
