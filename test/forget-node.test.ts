// scripts/forget-node.js's pure parts: when a node counts as on another machine (--replaced), and the
// state without a node's resources. Its runs against the real engine are in test/integration.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { replacementEvidence, replacementPlaceProblem, withoutResources } = require("../scripts/forget-node.js");

const OLD_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOldOldOldOldOldOldOldOldOldOldOldOldOldOldOld";
const NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINewNewNewNewNewNewNewNewNewNewNewNewNewNewNew";
const base = { hostname: "lab-3", address: "192.168.77.13", port: 22, stateMac: "52:54:00:77:00:13", configMac: "52:54:00:77:00:13", recordedKey: OLD_KEY };

describe("forget-node --replaced: is the machine at the address provably another one?", () => {
    test("yes: a new MAC with nothing answering, or another host key answering (with or without a new MAC)", () => {
        expect(replacementEvidence({ ...base, configMac: "52:54:00:77:00:23", answering: false })).toEqual({
            reason: "nothing answers at 192.168.77.13:22, and homelab:nodes names a new MAC (52:54:00:77:00:23, was 52:54:00:77:00:13)",
        });
        expect(replacementEvidence({ ...base, answering: true, shown: NEW_KEY }).reason).toBe("the machine at 192.168.77.13:22 shows another host key than the one recorded for lab-3");
        expect(replacementEvidence({ ...base, configMac: "52:54:00:77:00:23", answering: true, shown: NEW_KEY }).reason).toContain("and homelab:nodes names a new MAC");
        // MACs compare without regard to case
        expect(replacementEvidence({ ...base, configMac: "52:54:00:77:00:13".toUpperCase(), answering: false }).problem).toContain("still names lab-3's old MAC");
    });

    test("no: the old host key answering, nothing answering under the old MAC, no key to compare, no key shown", () => {
        expect(replacementEvidence({ ...base, configMac: "52:54:00:77:00:23", answering: true, shown: OLD_KEY }).problem).toContain("shows the host key recorded for lab-3: it is the old machine, still running");
        expect(replacementEvidence({ ...base, answering: false }).problem).toContain("if the machine is only switched off, `pulumi up` wakes it");
        expect(replacementEvidence({ ...base, recordedKey: undefined, answering: true, shown: NEW_KEY }).problem).toContain("the state records no host key of lab-3");
        expect(replacementEvidence({ ...base, answering: true, shown: undefined }).problem).toContain("shows no SSH host key");
    });
});

describe("forget-node --replaced: where the node is listed", () => {
    const nodes = [{ hostname: "lab-1" }, { hostname: "lab-2", role: "control-plane" }, { hostname: "lab-3", role: "control-plane" }, { hostname: "lab-4", role: "worker" }];

    test("the first control plane listed (role control-plane by default) is refused, naming the one to list first", () => {
        const problem = replacementPlaceProblem(nodes, "lab-1");
        expect(problem).toContain("lab-1 is the first control plane in homelab:nodes");
        expect(problem).toContain("List another control plane first (e.g. lab-2) and lab-1 after it");
        // a worker listed before it does not make it any less the first control plane
        expect(replacementPlaceProblem([nodes[3], ...nodes.slice(0, 3)], "lab-1")).toContain("lab-1 is the first control plane");
        expect(replacementPlaceProblem([{ hostname: "solo" }, nodes[3]], "solo")).toContain("solo is the only control plane in homelab:nodes");
    });

    test("any other node, and the old first control plane once another is listed before it, may be replaced", () => {
        for (const hostname of ["lab-2", "lab-3", "lab-4"]) expect(replacementPlaceProblem(nodes, hostname)).toBeUndefined();
        expect(replacementPlaceProblem([nodes[1], nodes[2], nodes[0], nodes[3]], "lab-1")).toBeUndefined();
    });
});

describe("forget-node: the state without a node's resources", () => {
    test("they go, and so does every reference to them; the rest is as it was", () => {
        const deployment = {
            manifest: { time: "t" },
            resources: [
                { urn: "u::init", dependencies: [] },
                { urn: "u::lab-3", dependencies: [] },
                { urn: "u::lab-3-prepare", parent: "u::lab-3", dependencies: ["u::init"] },
                { urn: "u::join-lab-3", dependencies: ["u::init", "u::lab-3-prepare"], propertyDependencies: { create: ["u::lab-3-prepare", "u::init"] } },
                { urn: "u::cleanup", dependencies: ["u::join-lab-3", "u::init"], propertyDependencies: { create: ["u::init"] }, deletedWith: "u::join-lab-3" },
            ],
        };
        const after = withoutResources(deployment, ["u::lab-3", "u::lab-3-prepare", "u::join-lab-3"]);
        expect(after.manifest).toEqual(deployment.manifest);
        expect(after.resources).toEqual([
            { urn: "u::init", dependencies: [] },
            { urn: "u::cleanup", dependencies: ["u::init"], propertyDependencies: { create: ["u::init"] } },
        ]);
        // the input is not changed
        expect(deployment.resources).toHaveLength(5);
    });
});
