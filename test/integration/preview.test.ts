// A real `pulumi preview --stack home`, offline, with the engine and plugins built
// from Go modules: what mocks cannot catch (URN clashes, schema mismatches,
// unknown kubeconfigs at preview, secrets in the event log) fails here.
import * as fs from "fs";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { makeArchive } from "../helpers/snapshot-archive";
import { allText, editStackConfig, scratchProject, ScratchProject } from "./project";

interface PreviewRun {
    events: EngineEvent[];
    stdout: string;
    error?: Error;
}

async function preview(project: ScratchProject): Promise<PreviewRun> {
    const events: EngineEvent[] = [];
    let stdout = "";
    try {
        const result = await project.stack.preview({ onEvent: (event) => events.push(event), onOutput: (out) => (stdout += out), diff: false });
        stdout = result.stdout;
        return { events, stdout };
    } catch (error) {
        return { events, stdout, error: error as Error };
    }
}

function plannedTypes(events: EngineEvent[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const event of events) {
        const meta = event.resourcePreEvent?.metadata;
        if (meta && meta.op === "create") counts[meta.type] = (counts[meta.type] ?? 0) + 1;
    }
    return counts;
}

function diagnostics(events: EngineEvent[], severity: string): string[] {
    return events.filter((e) => e.diagnosticEvent?.severity === severity).map((e) => e.diagnosticEvent!.message.trim());
}

describe("pulumi preview --stack home (real engine, offline)", () => {
    let project: ScratchProject;
    let run: PreviewRun;

    beforeAll(async () => {
        project = await scratchProject("home");
        run = await preview(project);
    });
    afterAll(() => project?.cleanup());

    test("succeeds with no error and only the intended warning", () => {
        expect(run.error).toBeUndefined();
        expect(diagnostics(run.events, "error")).toEqual([]);
        // The kubernetes plugin is the revision the module proxy serves, not 4.34.2 (engine/README.md): the engine says so.
        const substitute = /pulumi-resource-kubernetes from \$PATH|resource plugin kubernetes is expected to have version/;
        const warnings = diagnostics(run.events, "warning").filter((warning) => !substitute.test(warning));
        expect(warnings).toEqual([expect.stringContaining("homelab:vip.stonithEnabled is false")]);
    });

    test("plans the whole chain, every component and its children", () => {
        const types = plannedTypes(run.events);
        expect(types).toEqual({
            "pulumi:pulumi:Stack": 1,
            "pulumi:providers:command": 1,
            "pulumi:providers:random": 1,
            // one for Calico, one for Rook, both from the kubeconfig output
            "pulumi:providers:kubernetes": 2,
            "homelab:index:BareMetalNode": 3,
            "homelab:index:VlanInterface": 3,
            "homelab:index:PacemakerVip": 1,
            "homelab:index:KubeadmCluster": 1,
            "homelab:index:CalicoNetwork": 1,
            "homelab:index:RookCeph": 1,
            "homelab:index:LabPower": 1,
            "homelab:index:ClusterBackup": 1,
            // per node: wake and wait, the wake after a power cut, the host key recorded at first contact (9);
            // the power routine (1); the etcd snapshot (1)
            "command:local:Command": 11,
            // per node: prepare, hosts, poweroff, netplan, which machine answers (15); VIP: 3 package
            // installs, 3 members and the cluster (7); kubeadm: 3 package installs, init, pre-join, 2
            // admissions and 2 joins, the join secrets' cleanup, kubeconfig, 3 graceful-shutdown settings,
            // 3 certificate renewal checks, the admin kubeconfig re-read after a renewal, the departures of
            // nodes taken out (19), per node the rolling upgrade's drain, upgrade and release (9);
            // Calico: operator and wait (2); Rook: per node the device check, the fsid record and the
            // wipe on destroy (9), operator, the Ceph image check, the OSD hosts' departures, the OSDs a
            // replaced machine left, wait, the claims guard, the cleanup wait and its arming (8)
            "command:remote:Command": 69,
            // corosync authkey, kubeadm certificate key, the bootstrap token's two halves: RandomPasswords,
            // whose value the official provider keeps out of the plaintext ID
            "random:index/randomPassword:RandomPassword": 4,
            "kubernetes:operator.tigera.io/v1:Installation": 1,
            "kubernetes:operator.tigera.io/v1:APIServer": 1,
            "kubernetes:ceph.rook.io/v1:CephCluster": 1,
            "kubernetes:ceph.rook.io/v1:CephBlockPool": 1,
            "kubernetes:ceph.rook.io/v1:CephFilesystem": 1,
            "kubernetes:storage.k8s.io/v1:StorageClass": 2,
        });
    });

    test("takes no action on any machine: every step is a planned create, nothing ran", () => {
        const ops = new Set(run.events.map((e) => e.resourcePreEvent?.metadata.op).filter(Boolean));
        expect([...ops]).toEqual(["create"]);
        expect(run.events.some((e) => e.resOutputsEvent && e.resOutputsEvent.metadata.type.startsWith("command:") && !e.resOutputsEvent.planning)).toBe(false);
    });

    test("the event log and the state hold no secret in plaintext", () => {
        const keyBody = project.privateKey.split("\n")[1];
        expect(keyBody.length).toBeGreaterThan(20);
        const eventLog = JSON.stringify(run.events) + run.stdout;
        expect(eventLog).not.toContain(keyBody);
        const state = allText(project.stateDir);
        expect(state.length).toBeGreaterThan(0);
        expect(state).not.toContain(keyBody);
    });
});

describe("pulumi preview with bad config", () => {
    test("fails with every validation message and registers no resource", async () => {
        const project = await scratchProject("home");
        try {
            editStackConfig(project, "homelab:nodes", (nodes) => { nodes[0].mac = "00:1e:06:1a:1b"; return nodes; });
            editStackConfig(project, "homelab:network", (network) => ({ ...network, vlanId: 5000 }));
            const run = await preview(project);
            expect(run.error).toBeDefined();
            const output = `${run.error}`;
            expect(output).toContain("stack config has 2 problems; nothing was changed:");
            expect(output).toContain('homelab:nodes[0].mac: "00:1e:06:1a:1b" is not a valid MAC address');
            expect(output).toContain("homelab:network.vlanId: 5000 is not a valid VLAN id; expected 1-4094");
            const creates = run.events.filter((e) => e.resourcePreEvent && e.resourcePreEvent.metadata.type !== "pulumi:pulumi:Stack");
            expect(creates).toEqual([]);
        } finally {
            project.cleanup();
        }
    });
});

describe("pulumi preview with backups.restoreFrom", () => {
    test("another cluster's snapshot is refused with the other problems, before any resource; this cluster's plans the restore", async () => {
        const project = await scratchProject("home");
        try {
            const folder = path.join(project.dir, "backups");
            makeArchive(path.join(folder, "home"), "office-etcd-20261205T235200Z.tar.gz", { cluster: "office" });
            makeArchive(path.join(folder, "home"), "home-etcd-20261205T235200Z.tar.gz", { cluster: "home" });
            editStackConfig(project, "homelab:backups", () => ({ directory: "backups", restoreFrom: "office-etcd-20261205T235200Z.tar.gz" }));
            editStackConfig(project, "homelab:network", (network) => ({ ...network, vlanId: 5000 }));
            const refused = await preview(project);
            const output = `${refused.error}`;
            expect(output).toContain("stack config has 2 problems; nothing was changed:");
            expect(output).toContain(`homelab:backups.restoreFrom: "office-etcd-20261205T235200Z.tar.gz" is a snapshot of cluster "office", not of home (${fs.realpathSync(folder)}/home/office-etcd-20261205T235200Z.tar.gz)`);
            expect(refused.events.filter((e) => e.resourcePreEvent && e.resourcePreEvent.metadata.type !== "pulumi:pulumi:Stack")).toEqual([]);

            editStackConfig(project, "homelab:network", (network) => ({ ...network, vlanId: 2 }));
            editStackConfig(project, "homelab:backups", () => ({ directory: "backups", restoreFrom: "home-etcd-20261205T235200Z.tar.gz" }));
            const planned = await preview(project);
            expect(planned.error).toBeUndefined();
            expect(plannedTypes(planned.events)["homelab:index:ClusterRestore"]).toBe(1);
            const restore = planned.events.map((e) => e.resourcePreEvent?.metadata).find((meta) => meta?.urn.endsWith("::home-restore-etcd"));
            expect(restore?.op).toBe("create");
        } finally {
            project.cleanup();
        }
    });
});
