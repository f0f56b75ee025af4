// Golden files: rendered text is compared with test/goldens/<test file>/<name>, so a golden is
// named after the test that writes it (kubeadm.test.ts writes test/goldens/kubeadm/init.sh).
// UPDATE_GOLDENS=1 (npm run goldens:update) rewrites them; review the diff before committing.
import * as fs from "fs";
import * as path from "path";
import { expectShellcheckClean } from "./shellcheck";

export const GOLDEN_DIR = path.join(__dirname, "..", "goldens");

/** test/goldens/<the running test file, without .test.ts>/<name>. */
export function goldenPath(name: string): string {
    const testPath = expect.getState().testPath;
    if (!testPath) throw new Error("expectGolden is for use inside a jest test");
    return path.join(GOLDEN_DIR, path.basename(testPath).replace(/\.test\.ts$/, ""), name);
}

export function expectGolden(name: string, actual: string): void {
    const file = goldenPath(name);
    if (process.env.UPDATE_GOLDENS === "1") {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, actual);
        return;
    }
    if (!fs.existsSync(file)) throw new Error(`golden file ${file} is missing; run: npm run goldens:update`);
    expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

/** A rendered script: the common prelude, its golden, and shellcheck clean. */
export function expectScriptGolden(name: string, text: string): void {
    expect(text.startsWith("#!/usr/bin/env bash\nset -euo pipefail\n")).toBe(true);
    expectGolden(name, text);
    expectShellcheckClean(name, text);
}
