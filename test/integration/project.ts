// A scratch copy of the project for engine tests: the code is linked, the stack
// files are copied, so setting test config never touches the committed files.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as YAML from "yaml";

export const ROOT = path.resolve(__dirname, "..", "..");
const LINKED = ["index.ts", "components", "stacks", "node_modules", "package.json", "tsconfig.json"];

export interface ScratchProject {
    dir: string;
    stateDir: string;
    privateKey: string;
    stack: Stack;
    /** What the workspace runs pulumi with (the state's backend, the passphrase), for a tool run beside it. */
    env: Record<string, string>;
    cleanup(): void;
}

/** A throwaway ed25519 key: real enough for every check, worthless outside the test. */
export function throwawayKey(dir: string): string {
    const file = path.join(dir, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "homelab-test", "-f", file]);
    return fs.readFileSync(file, "utf8");
}

export interface ScratchOptions {
    /** Set a throwaway homelab:sshPrivateKey (stacks that name a key file do not want one). */
    setKey?: boolean;
    /** Where the state goes; a fresh directory inside the scratch project by default. */
    stateDir?: string;
}

export async function scratchProject(stackName: string, options: ScratchOptions = {}): Promise<ScratchProject> {
    const stackFile = `Pulumi.${stackName}.yaml`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-engine-"));
    for (const entry of LINKED) fs.symlinkSync(path.join(ROOT, entry), path.join(dir, entry));
    // The lab stack reads its SSH key file from .lab/ssh, relative to the project.
    if (fs.existsSync(path.join(ROOT, ".lab"))) fs.symlinkSync(path.join(ROOT, ".lab"), path.join(dir, ".lab"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    // A fresh secrets salt: the scratch stack has its own passphrase.
    const stackText = fs.readFileSync(path.join(ROOT, stackFile), "utf8").replace(/^encryptionsalt:.*\n/m, "");
    fs.writeFileSync(path.join(dir, stackFile), stackText);
    const stateDir = options.stateDir ?? path.join(dir, ".state");
    fs.mkdirSync(stateDir, { recursive: true });
    const privateKey = throwawayKey(dir);
    const envVars = {
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "homelab-integration-test",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    const workspace = await LocalWorkspace.create({ workDir: dir, envVars });
    const stack = await Stack.createOrSelect(stackName, workspace);
    if (options.setKey ?? true) await stack.setConfig("homelab:sshPrivateKey", { value: privateKey, secret: true });
    return { dir, stateDir, privateKey, stack, env: envVars, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Every file under a directory, as text, for searching for secrets. */
export function allText(dir: string): string {
    let text = "";
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) text += allText(full);
        else if (entry.isFile()) text += fs.readFileSync(full, "utf8");
    }
    return text;
}

/** Changes one structured key in the scratch stack file, as a user editing Pulumi.<stack>.yaml would. */
export function editStackConfig(project: ScratchProject, key: string, edit: (value: any) => any): void {
    const file = path.join(project.dir, `Pulumi.${project.stack.name}.yaml`);
    const doc = YAML.parse(fs.readFileSync(file, "utf8"));
    doc.config[key] = edit(doc.config[key]);
    fs.writeFileSync(file, YAML.stringify(doc));
}
