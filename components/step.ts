// Pure: how a rendered script runs as one step of `pulumi up` on a node, and how the node
// remembers that it completed. No Pulumi SDK here, like ./script.
import { createHash } from "crypto";
import { shellQuote } from "./script";

/** Where each step records, on its node, the digest of the script and input it completed with, then that run's stdout. */
export const STEP_RECORD_DIR = "/var/lib/homelab/steps";

const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex");
}

/**
 * The script that runs a step's rendered script on the node.
 *
 * Its input (secrets) arrives on stdin and is held in a root-only file under /run (memory) while
 * the step runs, never in a command line. On success the node records the digest of the script
 * and of that input, and the step's stdout.
 *
 * "update" is what runs when Pulumi updates the step: with the official command provider that
 * happens on ANY input change, also one that only says how to reach the node (a new SSH key, a
 * timeout, an address, a recorded host key) or changes the delete script. When the node's record
 * shows this very script completed with this very input, nothing runs and the recorded stdout is
 * printed again, so what reads the step's stdout sees the same value. A reinstalled node has no
 * record and runs everything again. "create" always runs the script: a created or replaced step
 * (triggers) is meant to run.
 */
export function renderStep(name: string, script: string, phase: "create" | "update"): string {
    if (!STEP_NAME.test(name)) throw new Error(`step name ${JSON.stringify(name)} cannot name a file; expected letters, digits, '.', '_' and '-'`);
    const record = `${STEP_RECORD_DIR}/${name}`;
    const skip = phase === "update" ? `
# an update that does not change the script or its input (only how the node is reached) runs nothing
if [ "$(head -n 1 ${record} 2>/dev/null)" = "$completed" ]; then
  echo "${name}: this script already completed on $(hostname) with the same input; not run again" >&2
  tail -n +2 ${record}
  exit 0
fi` : "";
    return `#!/usr/bin/env bash
# homelab step ${name}: runs its script, then records on this node that it completed
set -euo pipefail
umask 077
scratch=$(mktemp -d -p /run homelab-step.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# the step's input (its secrets) comes on stdin and stays in this root-only directory until the step ends
cat > "$scratch/input"
completed="${sha256(script)}:$(sha256sum < "$scratch/input" | cut -d' ' -f1)"${skip}
step_script=${shellQuote(script)}
bash -c "$step_script" < "$scratch/input" | tee "$scratch/output"
install -d -m 700 ${STEP_RECORD_DIR}
{ printf '%s\\n' "$completed"; cat "$scratch/output"; } > ${record}.new
mv ${record}.new ${record}
`;
}
