// Every command line run on this host while a test watches: the lab's machines share this
// host's kernel, so /proc shows their processes too. A separate process samples /proc/*/cmdline
// every 50 ms and keeps each distinct line once; a secret handed to a command as an argument
// would be seen there (kubeadm's own steps last seconds, far longer than a sample).
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";

const SAMPLER = `
const fs = require("fs");
const seen = new Set();
const out = fs.openSync(process.argv[1], "a");
function sample() {
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\\d+$/.test(pid)) continue;
    let line;
    try { line = fs.readFileSync("/proc/" + pid + "/cmdline", "latin1").replace(/\\0/g, " ").trim(); } catch { continue; }
    if (line && !seen.has(line)) { seen.add(line); fs.writeSync(out, line.replace(/\\n/g, "\\\\n") + "\\n"); }
  }
}
setInterval(sample, 50);
`;

export interface CommandLineWatch {
    /** Stops sampling and returns every distinct command line seen. */
    stop(): string[];
}

export function watchCommandLines(file: string): CommandLineWatch {
    fs.writeFileSync(file, "");
    const sampler: ChildProcess = spawn(process.execPath, ["-e", SAMPLER, file], { stdio: "ignore" });
    return {
        stop: () => {
            sampler.kill("SIGKILL");
            return fs.readFileSync(file, "latin1").split("\n").filter(Boolean);
        },
    };
}
