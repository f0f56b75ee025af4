// End to end, storage on the simulated lab (npm run test:e2e:storage): from every
// machine powered off, one `pulumi up` of the committed lab stack — Kubernetes,
// Calico and Rook Ceph, air-gapped from the lab's mirror — ends with Ceph healthy;
// then the storage classes are used for real, a machine loses power, and destroy
// wipes the lab's disks. Figures (stage times, Ceph memory) are printed.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { EngineEvent, UpResult } from "@pulumi/pulumi/automation";
import { editStackConfig, ROOT, scratchProject, ScratchProject } from "../integration/project";
import { cephClient, changes, kubectlClient, offlineKubectl, PROBE_ARCHIVE, PROBE_IMAGE, timedUp } from "./cluster";
import { formatSpans, machineMemory, StepClock } from "./figures";
import { importImage, inside, isOn, lab, NODES, ssh, waitFor } from "./lab";

jest.setTimeout(90 * 60 * 1000);

const stackConfig = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.lab.yaml"), "utf8")).config;
const STORAGE = stackConfig["homelab:storage"];
const NAMESPACE = "homelab-storage-e2e";
const OSD_DEVICES: Record<string, string[]> = Object.fromEntries((stackConfig["homelab:nodes"] as any[]).map((node) => [node.hostname, node.osdDevices ?? []]));

let project: ScratchProject;
let kubeconfigFile: string;
/** The machine test 3 powers off: not the one running the operator, through which the tests talk to Ceph. */
let victim: string;
const log = (line: string) => process.stdout.write(`[e2e-storage] ${line}\n`);

const up = (onEvent?: (event: EngineEvent) => void): Promise<UpResult> => timedUp(project.stack, log, onEvent);
const { kubectl, kubectlRead, tryKubectl } = kubectlClient(offlineKubectl(stackConfig["homelab:kubernetes"].version), () => kubeconfigFile, "30s");
const { cephJson, health } = cephClient(kubectlRead);

/** Ceph's own memory on each machine: the summed RSS of its daemons, and what the whole machine uses. */
function cephMemory(): string {
    const memory = new Map(machineMemory().map(({ node, memory }) => [node, memory]));
    return NODES.map(({ hostname }) => {
        const kib = inside(hostname, "ps -C ceph-mon,ceph-mgr,ceph-osd,ceph-mds -o rss= | awk '{ s += $1 } END { print s + 0 }'");
        return `${hostname} ceph daemons ${(Number(kib) / 1024).toFixed(0)} MiB (machine ${memory.get(hostname) ?? "?"})`;
    }).join(", ");
}

beforeAll(async () => {
    log("fresh lab: lab down --purge, lab up (all machines off, each with its own empty OSD disk)");
    lab("down", "--purge");
    lab("up");
    for (const node of NODES) expect(isOn(node.hostname)).toBe(false);
    project = await scratchProject("lab", { setKey: false });
    kubeconfigFile = path.join(project.dir, "kubeconfig");
});

afterAll(async () => {
    if (process.env.HOMELAB_E2E_KEEP !== "1") lab("down");
    project?.cleanup();
});

describe("Rook Ceph on the simulated lab", () => {
    test("1. one up from powered off ends with Ceph HEALTH_OK: 3 mons in quorum, a mgr, 3 OSDs up and in, pool size 3 by host, the filesystem active", async () => {
        const clock = new StepClock();
        const result = await up(clock.onEvent);
        expect(result.summary.result).toBe("succeeded");
        log(`figures: stages ${formatSpans(clock.stageSpans())}`);
        log(`figures: longest steps ${formatSpans(clock.resourceSpans().slice(0, 12))}`);
        fs.writeFileSync(kubeconfigFile, result.outputs.kubeconfig.value, { mode: 0o600 });
        expect(result.outputs.storageClasses.value).toEqual({ block: STORAGE.blockStorageClass ?? "ceph-block", filesystem: STORAGE.filesystemStorageClass ?? "ceph-filesystem" });

        const status = cephJson("status");
        expect(status.health.status).toBe("HEALTH_OK");
        expect([...status.quorum_names].sort()).toHaveLength(3);
        expect(status.mgrmap.available).toBe(true);
        expect(status.osdmap).toMatchObject({ num_osds: 3, num_up_osds: 3, num_in_osds: 3 });
        const tree = cephJson("osd", "tree");
        const hosts = (tree.nodes as any[]).filter((node) => node.type === "host").map((node) => node.name).sort();
        expect(hosts).toEqual(NODES.map((node) => node.hostname).sort());

        expect(cephJson("osd", "pool", "get", "ceph-blockpool", "size").size).toBe(3);
        const rule = cephJson("osd", "pool", "get", "ceph-blockpool", "crush_rule").crush_rule;
        const steps = cephJson("osd", "crush", "rule", "dump", rule).steps as any[];
        expect(steps.find((step) => step.op.startsWith("chooseleaf"))).toMatchObject({ type: "host" });
        const fs_ = cephJson("fs", "status", "ceph-filesystem");
        expect((fs_.mdsmap as any[]).filter((mds) => mds.state === "active")).toHaveLength(1);
        log(`figures: Ceph at HEALTH_OK: ${cephMemory()}`);
    });

    test("2. a CephFS claim is mounted by pods on two nodes (what one writes the other reads); an RBD claim is Bound", async () => {
        const archive = fs.readFileSync(PROBE_ARCHIVE);
        for (const node of NODES) {
            importImage(node.hostname, archive);
        }
        kubectl("create", "namespace", NAMESPACE);
        // pods are refused until the controller manager has made the namespace's default service account
        await waitFor("the namespace's default service account", () => tryKubectl("-n", NAMESPACE, "get", "serviceaccount", "default", "-o", "name") !== undefined, 120000, 2000);
        const manifest = path.join(project.dir, "claims.yaml");
        const operatorNode = kubectl("-n", "rook-ceph", "get", "pods", "-l", "app=rook-ceph-operator", "-o", "jsonpath={.items[0].spec.nodeName}");
        victim = NODES.map((node) => node.hostname).filter((hostname) => hostname !== operatorNode).pop() as string;
        const [writerNode, readerNode] = NODES.map((node) => node.hostname).filter((hostname) => hostname !== victim);
        fs.writeFileSync(manifest, claimsManifest([writerNode, readerNode]));
        kubectl("apply", "-f", manifest);
        for (const claim of ["shared", "block"]) {
            await waitFor(`claim ${claim} Bound`, () => tryKubectl("-n", NAMESPACE, "get", "pvc", claim, "-o", "jsonpath={.status.phase}") === "Bound", 300000, 5000);
        }
        kubectl("-n", NAMESPACE, "wait", "--for=condition=Ready", "pod/writer", "pod/reader", "--timeout=300s");
        const text = `written on ${writerNode} at ${Date.now()}`;
        kubectl("-n", NAMESPACE, "exec", "writer", "--", "/bin/sh", "-c", `echo '${text}' > /data/note && sync`);
        expect(kubectlRead("-n", NAMESPACE, "exec", "reader", "--", "cat", "/data/note")).toBe(text);
        const mounts = kubectlRead("-n", NAMESPACE, "exec", "reader", "--", "cat", "/proc/mounts");
        log(`reader's /data: ${mounts.split("\n").find((line) => line.includes(" /data ")) ?? "not found"}`);
        expect(mounts).toMatch(/ceph-fuse \/data fuse\.ceph-fuse /);
    });

    test("3. one machine loses power: the data stays readable, Ceph is degraded without data loss; back on, HEALTH_OK again by itself", async () => {
        lab("power-off", victim, "--hard");
        try {
            await whileOff();
        } finally {
            lab("power-on", victim); // whatever failed, the next test needs every machine
        }
        const back = await waitFor("HEALTH_OK again", () => health() === "HEALTH_OK", 900000, 10000);
        log(`HEALTH_OK ${(back / 1000).toFixed(0)} s after ${victim} was powered on`);
        expect(cephJson("osd", "stat")).toMatchObject({ num_osds: 3, num_up_osds: 3, num_in_osds: 3 });
    });

    /** Test 3's checks while the victim is off. */
    async function whileOff(): Promise<void> {
        await waitFor("Ceph noticing the lost OSD", () => {
            try {
                return cephJson("osd", "stat").num_up_osds === 2;
            } catch {
                return false;
            }
        }, 300000, 5000);
        const detail = cephJson("health", "detail");
        log(`while ${victim} is off: ${detail.status} ${Object.keys(detail.checks).join(", ")}`);
        expect(detail.status).toBe("HEALTH_WARN");
        for (const loss of ["OBJECT_UNFOUND", "PG_DAMAGED", "OSD_SCRUB_ERRORS", "PG_RECOVERY_FULL"]) expect(Object.keys(detail.checks)).not.toContain(loss);
        expect(kubectlRead("-n", NAMESPACE, "exec", "reader", "--", "cat", "/data/note")).toMatch(/^written on /);
        kubectl("-n", NAMESPACE, "exec", "writer", "--", "/bin/sh", "-c", `echo 'written while ${victim} was off' > /data/degraded && sync`);
        expect(kubectlRead("-n", NAMESPACE, "exec", "reader", "--", "cat", "/data/degraded")).toBe(`written while ${victim} was off`);
    }

    test("4. a second up changes nothing; destroy refuses while claims are left, then removes Ceph, wipes the disks, resets the nodes and powers them off", async () => {
        const again = await up();
        expect(changes(again.summary.resourceChanges)).toEqual({});
        log(`figures: at rest: ${cephMemory()}`);
        // Ceph's resources are protected (the safety suite shows the refusal); the user's explicit step first
        editStackConfig(project, "homelab:storage", (value) => ({ ...value, protect: false }));
        expect(changes((await up()).summary.resourceChanges)).toEqual({});

        // with the claims still there, a destroy stops at its first step, names them, and deletes nothing
        const attempted: string[] = [];
        const refusal = await project.stack.destroy({
            onOutput: () => undefined,
            onEvent: (event) => {
                const step = event.resourcePreEvent?.metadata;
                if (step) attempted.push(`${step.op} ${step.urn.split("::")[3]}`);
            },
        }).then(() => "the destroy succeeded", (error) => String(error));
        log(`destroy with claims left: steps ${attempted.join(", ")}`);
        expect(refusal).toContain("destroy stopped before touching Ceph");
        expect(refusal).toContain(`claim ${NAMESPACE}/shared (${STORAGE.filesystemStorageClass ?? "ceph-filesystem"})`);
        expect(refusal).toContain(`claim ${NAMESPACE}/block (${STORAGE.blockStorageClass ?? "ceph-block"})`);
        expect(attempted).toEqual(["delete lab-rook-claims-guard"]);
        expect(changes((await up()).summary.resourceChanges)).toEqual({});
        expect(kubectlRead("-n", NAMESPACE, "exec", "reader", "--", "cat", "/data/note")).toMatch(/^written on /);

        // the claims go first, as a user's would
        kubectl("delete", "namespace", NAMESPACE, "--timeout=300s");
        await waitFor("the test's volumes deleted", () => (tryKubectl("get", "pv", "-o", "name") ?? "x") === "", 300000, 5000);

        // who wiped what: Rook's cleanup jobs, or each node's wipe step after them (the steps' output)
        let destroyOutput = "";
        await project.stack.destroy({ onOutput: (text) => { destroyOutput += text; } });
        log(`destroy: ${[...new Set(destroyOutput.split("\n").map((line) => line.trim())
            // the steps' own lines; the engine's progress lines repeat them after a resource's name
            .filter((line) => !line.includes("command:remote:Command") && /Rook wiped|Rook started no|did not finish|nothing to wipe|zeroed the first|emptied \/var\/lib\/rook|empty already/.test(line)))].join(" | ") || "no wipe messages in the output"}`);
        for (const node of NODES) await waitFor(`${node.hostname} off`, () => !isOn(node.hostname), 120000, 1000);
        for (const node of NODES) {
            lab("power-on", node.hostname);
            await waitFor(`${node.hostname} answering SSH`, () => ssh(node.sshAddress, "true", 2).status === 0, 120000, 1000);
            // Rook's cleanup empties dataDirHostPath and leaves the directory itself (seen in the lab)
            expect(inside(node.hostname, "find /var/lib/rook -mindepth 1 2>/dev/null | wc -l; test -e /etc/kubernetes/admin.conf && echo admin.conf || echo none")).toBe("0\nnone");
            for (const device of OSD_DEVICES[node.hostname]) {
                // Rook's quick sanitize zeroes the start of the disk: no BlueStore label is left
                expect(inside(node.hostname, `head -c 1048576 ${device} | tr -d '\\0' | wc -c`)).toBe("0");
            }
        }
    });
});

function claimsManifest(nodes: [string, string]): string {
    const pod = (name: string, node: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${NAMESPACE}}
spec:
  nodeName: ${node}
  containers:
    - name: ${name}
      image: ${PROBE_IMAGE}
      imagePullPolicy: Never
      command: [/bin/sh, -c, 'exec sleep 100000']
      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
`;
    return `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared, namespace: ${NAMESPACE}}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ${STORAGE.filesystemStorageClass ?? "ceph-filesystem"}
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: block, namespace: ${NAMESPACE}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ${STORAGE.blockStorageClass ?? "ceph-block"}
  resources: {requests: {storage: 1Gi}}
---
${pod("writer", nodes[0])}---
${pod("reader", nodes[1])}`;
}
