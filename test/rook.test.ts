import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { installMocks, promiseOf, registered, resetRegistered, secretValue, settle } from "./helpers/mocks";
import { dependencyNamesOf, recordDependencies } from "./helpers/deps";
import { expectGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { standIns } from "./helpers/standins";
import { bundleFiles, renderApplyBundleScript, renderDeleteBundleScript } from "../components/manifests";
import {
    ROOK_BUNDLE_FILES, operatorSettings, renderRookResources, renderRookResourcesYaml, renderHealthGateScript, renderWaitScript, rookBundle, rookImages, RookSpec, splitCephConfig, upstreamManifestBase,
    rookSourceProblems, rookSpecProblems,
} from "../components/rook/render";
import { renderCleanupArmScript, renderCleanupWaitScript, renderClaimsGuardScript, renderNodeWipeScript } from "../components/rook/teardown";
import { renderDeviceCheckScript, renderFsidRecordScript, renderFsidRetireScript } from "../components/rook/disks";
import { cephImageVersion, renderCephImageCheckScript, renderRookUpgradeCheck } from "../components/rook/upgrade";
import { KUBECTL_FUNCTION } from "../components/kubectl";
import { script } from "../components/script";

installMocks();
recordDependencies();
const { RookCeph } = require("../components/rook") as typeof import("../components/rook");

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const FSID = "8f2a5c1e-0c55-4b41-9d0a-3f0e1c2b4a6d";
const spec: RookSpec = {
    rookVersion: "1.17.8",
    cephImage: "quay.io/ceph/ceph:v19.2.3",
    poolSize: 3,
    nodes: [1, 2, 3].map((n) => ({ hostname: `home-server-${n}`, osdDevices: ["/dev/sdb"] })),
    blockStorageClass: "ceph-block",
    filesystemStorageClass: "ceph-filesystem",
    allowLoopDevices: false,
    csi: { cephfsMounter: "kernel" },
    wipeDisksOnDestroy: false,
};
const ssh = { host: "192.168.10.101", port: 22, user: "homeuser", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" };
const upstream = rookBundle(spec, bundleFiles({}, upstreamManifestBase("1.17.8"), ROOK_BUNDLE_FILES, false));

// An air-gapped copy of deploy/examples, with fixed content so goldens are stable.
const localDir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-rook-"));
for (const file of ROOK_BUNDLE_FILES) fs.writeFileSync(path.join(localDir, file), `# ${file}\n`);
afterAll(() => fs.rmSync(localDir, { recursive: true, force: true }));

describe("rook renderers", () => {
    const scripts: Record<string, string> = {
        "operator-apply.sh": renderApplyBundleScript(upstream),
        "operator-apply-airgapped.sh": renderApplyBundleScript(rookBundle(spec, bundleFiles({ path: localDir }, "unused", ROOK_BUNDLE_FILES, false))),
        "operator-delete.sh": renderDeleteBundleScript(upstream),
        "wait.sh": renderWaitScript(spec),
        "health-gate.sh": renderHealthGateScript(20),
        "upgrade-check.sh": script(KUBECTL_FUNCTION, renderRookUpgradeCheck("1.17.8")),
        "ceph-image-check.sh": renderCephImageCheckScript("quay.io/ceph/ceph:v19.2.3"),
        "wait-module-options.sh": renderWaitScript({ ...spec, cephConfig: { mgr: { "mgr/crash/warn_recent_interval": "0" } } }),
        "cleanup-wait.sh": renderCleanupWaitScript({ wipeDisksOnDestroy: true }),
        "cleanup-wait-kept.sh": renderCleanupWaitScript({ wipeDisksOnDestroy: false }),
        "cleanup-arm.sh": renderCleanupArmScript({ wipeDisksOnDestroy: true }),
        "cleanup-arm-kept.sh": renderCleanupArmScript({ wipeDisksOnDestroy: false }),
        "claims-guard.sh": renderClaimsGuardScript(spec),
        "node-wipe.sh": renderNodeWipeScript({ hostname: "home-server-1", osdDevices: ["/dev/disk/by-id/ata-WDC_1", "/dev/sdc"] }, { wipeDisksOnDestroy: true }),
        "node-wipe-no-osds.sh": renderNodeWipeScript({ hostname: "home-server-3", osdDevices: [] }, { wipeDisksOnDestroy: true }),
        "node-wipe-kept.sh": renderNodeWipeScript({ hostname: "home-server-1", osdDevices: ["/dev/disk/by-id/ata-WDC_1"] }, { wipeDisksOnDestroy: false }),
        "devices-check.sh": renderDeviceCheckScript({ hostname: "home-server-1", osdDevices: ["/dev/disk/by-id/ata-WDC_1", "/dev/sdc"] }, 0),
        "fsid-record.sh": renderFsidRecordScript({ hostname: "home-server-1", osdDevices: ["/dev/disk/by-id/ata-WDC_1", "/dev/sdc"] }),
        "fsid-retire.sh": renderFsidRetireScript({ hostname: "home-server-1", osdDevices: ["/dev/disk/by-id/ata-WDC_1", "/dev/sdc"] }),
    };
    test.each(Object.keys(scripts))("%s matches its golden and passes shellcheck", (file) => {
        expectGolden(`${file}`, scripts[file]);
        expectShellcheckClean(`rook-${file}`, scripts[file]);
    });

    test("resources match their goldens", () => {
        expectGolden("resources.yaml", renderRookResourcesYaml(renderRookResources(spec)));
        expectGolden("resources-fuse-by-id.yaml", renderRookResourcesYaml(renderRookResources({
            ...spec,
            poolSize: 2,
            nodes: [{ hostname: "home-server-1", osdDevices: ["/dev/disk/by-id/ata-WDC_1", "/dev/sdc"] }, { hostname: "home-server-2", osdDevices: ["/dev/sdb"] }, { hostname: "home-server-3", osdDevices: [] }],
            csi: { cephfsMounter: "fuse" },
        })));
    });

    test("the cluster is created without the wipe confirmation, which would stop Rook managing it; the arm script sets it, with the flag on only", () => {
        expect(renderRookResources({ ...spec, wipeDisksOnDestroy: true })).toEqual(renderRookResources({ ...spec, wipeDisksOnDestroy: false }));
        expect(renderRookResources(spec).cluster.spec.cleanupPolicy).toEqual({ confirmation: "" });
        expect(renderCleanupArmScript({ wipeDisksOnDestroy: true })).toContain(`patch cephcluster rook-ceph --type merge -p '{"spec":{"cleanupPolicy":{"confirmation":"yes-really-destroy-data","sanitizeDisks":{"method":"quick","dataSource":"zero","iteration":1}}}}'`);
        expect(renderCleanupArmScript({ wipeDisksOnDestroy: false })).not.toContain("yes-really-destroy-data");
    });

    test("with three control planes or more the mons run on them only (tolerating their taint); with fewer, anywhere", () => {
        const roles = (controlPlanes: number) => ({ ...spec, nodes: spec.nodes.map((node, index) => ({ ...node, controlPlane: index < controlPlanes })) });
        expect(spec.nodes.length).toBeGreaterThanOrEqual(3);
        expect(renderRookResources(roles(3)).cluster.spec.placement).toEqual({
            mon: {
                nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }] }] } },
                tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
            },
        });
        expect(renderRookResources(roles(1)).cluster.spec).not.toHaveProperty("placement");
        expect(renderRookResources(spec).cluster.spec).not.toHaveProperty("placement");
    });

    test("metrics off disables Rook's exporter; on (the default) leaves Rook's monitoring settings alone", () => {
        expect(renderRookResources({ ...spec, metrics: false }).cluster.spec.monitoring).toEqual({ metricsDisabled: true });
        expect(renderRookResources(spec).cluster.spec).not.toHaveProperty("monitoring");
    });

    test("daemon probes: liveness of mon, mgr, OSD and MDS take all three fields, startup probes (not the MDS's) only the timing; none leaves Rook's", () => {
        const resources = renderRookResources({ ...spec, daemonProbes: { timeoutSeconds: 30, periodSeconds: 60, failureThreshold: 5 } });
        const liveness = { probe: { timeoutSeconds: 30, periodSeconds: 60, failureThreshold: 5 } };
        const startup = { probe: { timeoutSeconds: 30, periodSeconds: 60 } };
        expect(resources.cluster.spec.healthCheck).toEqual({
            livenessProbe: { mon: liveness, mgr: liveness, osd: liveness },
            startupProbe: { mon: startup, mgr: startup, osd: startup },
        });
        // Rook's MDS has no startup probe whose command one would keep
        expect(resources.filesystem.spec.metadataServer).toEqual({ activeCount: 1, activeStandby: true, livenessProbe: liveness });
        const defaults = renderRookResources(spec);
        expect(defaults.cluster.spec).not.toHaveProperty("healthCheck");
        expect(defaults.filesystem.spec.metadataServer).toEqual({ activeCount: 1, activeStandby: true });
    });

    test("Ceph options go into the cluster's cephConfig, and none leaves it out", () => {
        const cephConfig = { global: { mon_data_avail_warn: "10" }, osd: { osd_memory_target: "1073741824" } };
        expect(renderRookResources({ ...spec, cephConfig }).cluster.spec.cephConfig).toEqual(cephConfig);
        expect(renderRookResources({ ...spec, cephConfig: {} }).cluster.spec).not.toHaveProperty("cephConfig");
    });

    test("mgr modules' options are set by the wait step (with --force, before the mgr knows them), not by Rook", () => {
        const cephConfig = { global: { mon_data_avail_warn: "5" }, mgr: { "mgr/crash/warn_recent_interval": "0", mgr_tick_period: "2" } };
        expect(splitCephConfig(cephConfig)).toEqual({
            rook: { global: { mon_data_avail_warn: "5" }, mgr: { mgr_tick_period: "2" } },
            moduleOptions: [{ section: "mgr", option: "mgr/crash/warn_recent_interval", value: "0" }],
        });
        expect(renderRookResources({ ...spec, cephConfig }).cluster.spec.cephConfig).toEqual({ global: { mon_data_avail_warn: "5" }, mgr: { mgr_tick_period: "2" } });
        expect(renderRookResources({ ...spec, cephConfig: { mgr: { "mgr/crash/warn_recent_interval": "0" } } }).cluster.spec).not.toHaveProperty("cephConfig");
        const wait = renderWaitScript({ ...spec, cephConfig });
        expect(wait).toContain("ceph_ config set mgr mgr/crash/warn_recent_interval 0 --force");
        expect(wait).toContain(`[ "$module_options" = applied ]; then`);
        expect(renderWaitScript(spec)).not.toContain("module_options");
    });

    test("Rook's resources are deleted in the background (as kubectl does), so their daemons outlive Rook's finalizers", () => {
        const resources = renderRookResources(spec);
        for (const resource of [resources.cluster, resources.blockPool, resources.filesystem]) {
            expect(resource.metadata.annotations).toMatchObject({ "pulumi.com/deletionPropagationPolicy": "background", "pulumi.com/patchForce": "true" });
        }
    });

    test("a mirror must hold the Ceph image and the operator image of the pinned release", () => {
        expect(rookImages(spec)).toEqual(["quay.io/ceph/ceph:v19.2.3", "docker.io/rook/ceph:v1.17.8"]);
    });

    test("the bundle is crds, common, operator from the pinned release, in that order", () => {
        expect(upstream.files.map((file) => file.url)).toEqual([
            "https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/crds.yaml",
            "https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/common.yaml",
            "https://raw.githubusercontent.com/rook/rook/v1.17.8/deploy/examples/operator.yaml",
        ]);
        expect(bundleFiles({ url: "http://mirror.lan/rook" }, "unused", ["crds.yaml"], false)[0].url).toBe("http://mirror.lan/rook/crds.yaml");
        const deletes = renderDeleteBundleScript(upstream);
        expect(deletes.indexOf("operator.yaml")).toBeLessThan(deletes.indexOf("crds.yaml"));
    });

    test("operator settings follow the config", () => {
        expect(operatorSettings({ ...spec, allowLoopDevices: true, csi: { cephfsMounter: "fuse" } })).toEqual({
            ROOK_CEPH_ALLOW_LOOP_DEVICES: "true", ROOK_USE_CSI_OPERATOR: "false", CSI_FORCE_CEPHFS_KERNEL_CLIENT: "false",
            CSI_ENABLE_RBD_SNAPSHOTTER: "false", CSI_ENABLE_CEPHFS_SNAPSHOTTER: "false", ROOK_CEPH_COMMANDS_TIMEOUT_SECONDS: "15",
        });
        expect(operatorSettings({ ...spec, cephCommandsTimeoutSeconds: 60 }).ROOK_CEPH_COMMANDS_TIMEOUT_SECONDS).toBe("60");
        expect(upstream.afterApply).toContain(`patch configmap rook-ceph-operator-config --type merge -p '{"data":{"ROOK_CEPH_ALLOW_LOOP_DEVICES":"false"`);
    });

    test("the storage classes point at the pools Rook names", () => {
        const resources = renderRookResources({ ...spec, csi: { cephfsMounter: "fuse" } });
        expect(resources.blockStorageClass).toMatchObject({ provisioner: "rook-ceph.rbd.csi.ceph.com", reclaimPolicy: "Delete", allowVolumeExpansion: true, parameters: { pool: "ceph-blockpool" } });
        expect(resources.filesystemStorageClass).toMatchObject({ provisioner: "rook-ceph.cephfs.csi.ceph.com", parameters: { fsName: "ceph-filesystem", pool: "ceph-filesystem-data0", mounter: "fuse" } });
    });

    test("too few OSD hosts for the pool size, and two sources for the bundle, are refused in the words the stack config's check uses", () => {
        expect(rookSpecProblems(spec)).toEqual([]);
        expect(rookSpecProblems({ ...spec, nodes: spec.nodes.slice(0, 2) })).toEqual([
            { arg: "poolSize", value: 3, message: "needs at least 3 nodes with OSD disks (one replica per host), but 2 have any; add OSD disks to more nodes or lower it" },
        ]);
        expect(rookSourceProblems({ manifests: { url: "http://m/", path: "x" }, mirror: "http://mirror/rook-v1.17.8" }).map((problem) => problem.message)).toEqual([
            "sets both url and path; choose one",
            "is set as well as the mirror, which serves manifests/crds.yaml, common.yaml, operator.yaml; keep one of them",
        ]);
        const ssh = { host: "h", port: 22, user: "u", privateKey: "k" };
        expect(() => new RookCeph("short", { ...spec, nodes: spec.nodes.slice(0, 2).map((node) => ({ ...node, ssh })), manifests: {}, kubeconfig: "", clusterIdentifier: "homelab/test", adminNode: ssh }))
            .toThrow('RookCeph short: poolSize 3 needs at least 3 nodes with OSD disks');
    });
});

describe("RookCeph", () => {
    let rook: InstanceType<typeof RookCeph>;
    const named = (name: string) => {
        const found = registered.find((r) => r.name === name);
        if (!found) throw new Error(`${name} was not registered; registered: ${registered.map((r) => r.name).join(", ")}`);
        return found;
    };

    beforeAll(async () => {
        rook = new RookCeph("storage", { ...spec, nodes: spec.nodes.map((node) => ({ ...node, ssh })), manifests: {}, kubeconfig: "apiVersion: v1\nkind: Config\n", clusterIdentifier: "homelab/test", adminNode: ssh });
        rook.guardClaims([]);
        await settle();
    });

    test("registers its children under its name", () => {
        const children = registered.filter((r) => r.name.startsWith("storage")).map((r) => `${r.type} ${r.name}`).sort();
        expect(children).toEqual([
            "command:remote:Command storage-ceph-image-check",
            "command:remote:Command storage-claims-guard",
            "command:remote:Command storage-cleanup",
            "command:remote:Command storage-cleanup-arm",
            ...spec.nodes.map((node) => `command:remote:Command storage-devices-${node.hostname}`),
            ...spec.nodes.map((node) => `command:remote:Command storage-fsid-${node.hostname}`),
            "command:remote:Command storage-operator",
            "command:remote:Command storage-osd-departures",
            "command:remote:Command storage-replaced-osds",
            "command:remote:Command storage-wait",
            ...spec.nodes.map((node) => `command:remote:Command storage-wipe-${node.hostname}`),
            "homelab:index:RookCeph storage",
            "kubernetes:ceph.rook.io/v1:CephBlockPool storage-block-pool",
            "kubernetes:ceph.rook.io/v1:CephCluster storage-cluster",
            "kubernetes:ceph.rook.io/v1:CephFilesystem storage-filesystem",
            "kubernetes:storage.k8s.io/v1:StorageClass storage-block-storage-class",
            "kubernetes:storage.k8s.io/v1:StorageClass storage-filesystem-storage-class",
            "pulumi:providers:kubernetes storage-provider",
        ]);
        expect(named("storage-provider").inputs.kubeconfig?.[SECRET_SIG]).toBeDefined();
    });

    test("deletion runs storage classes, filesystem and pool, cluster, then the operator bundle", () => {
        expect(dependencyNamesOf("storage-cluster")).toContain("storage-operator");
        expect(dependencyNamesOf("storage-block-pool")).toContain("storage-cluster");
        expect(dependencyNamesOf("storage-filesystem")).toContain("storage-cluster");
        expect(dependencyNamesOf("storage-wait")).toEqual(expect.arrayContaining(["storage-cluster", "storage-block-pool", "storage-filesystem", "storage-osd-departures"]));
        // an OSD host that left goes after the cluster stops listing it, and before the wait counts the OSDs
        expect(dependencyNamesOf("storage-osd-departures")).toEqual(["storage-cluster"]);
        // a replaced machine's old OSDs, which would keep Ceph from HEALTH_OK, go before the wait too
        expect(dependencyNamesOf("storage-replaced-osds")).toEqual(["storage-cluster"]);
        expect(dependencyNamesOf("storage-wait")).toContain("storage-replaced-osds");
        expect(dependencyNamesOf("storage-block-storage-class")).toEqual(expect.arrayContaining(["storage-block-pool", "storage-wait"]));
        expect(dependencyNamesOf("storage-filesystem-storage-class")).toEqual(expect.arrayContaining(["storage-filesystem", "storage-wait"]));
        expect(named("storage-operator").inputs.delete).toContain("--ignore-not-found --wait=false");
    });

    test("a new Ceph image is checked after the operator (upgraded first, and the ceph CLI's home) and before the cluster is given it", () => {
        expect(dependencyNamesOf("storage-ceph-image-check")).toEqual(["storage-operator"]);
        expect(dependencyNamesOf("storage-cluster")).toContain("storage-ceph-image-check");
        expect(named("storage-ceph-image-check").inputs.create).toContain("quay.io/ceph/ceph:v19.2.3");
    });

    test("a destroy meets the claims guard before the storage classes and the fsid steps, so it stops before anything of Ceph's is deleted or moved", () => {
        expect(dependencyNamesOf("storage-claims-guard")).toEqual(expect.arrayContaining([
            "storage-block-storage-class", "storage-filesystem-storage-class", ...spec.nodes.map((node) => `storage-fsid-${node.hostname}`),
        ]));
        expect(named("storage-claims-guard").inputs.create).toBe("true");
        expect(named("storage-claims-guard").inputs.delete).toContain("destroy stopped before touching Ceph");
    });

    test("each node's devices are checked before the operator; each node records the fsid once Ceph is healthy", () => {
        expect(dependencyNamesOf("storage-operator")).toEqual(expect.arrayContaining(spec.nodes.map((node) => `storage-devices-${node.hostname}`)));
        spec.nodes.forEach((node, index) => {
            expect(named(`storage-devices-${node.hostname}`).inputs.create).toContain(`nodes[${index}].osdDevices[0]`);
            expect(dependencyNamesOf(`storage-fsid-${node.hostname}`)).toEqual(["storage-wait"]);
            expect(named(`storage-fsid-${node.hostname}`).parent).toBe("storage");
        });
    });

    test("the cluster uses only the listed devices", () => {
        expect(named("storage-cluster").inputs.spec.storage).toEqual({
            useAllNodes: false,
            useAllDevices: false,
            nodes: spec.nodes.map((node) => ({ name: node.hostname, devices: [{ name: "/dev/sdb" }] })),
        });
    });

    test("outputs the storage class names", async () => {
        expect(await promiseOf(rook.storageClasses)).toEqual({ block: "ceph-block", filesystem: "ceph-filesystem" });
    });

    test("what holds the data and what claims name is protected by default: Pulumi refuses a plan that deletes or replaces it", () => {
        const stateful = ["storage-cluster", "storage-block-pool", "storage-filesystem", "storage-block-storage-class", "storage-filesystem-storage-class"];
        for (const name of stateful) expect({ name, protect: named(name).protect }).toEqual({ name, protect: true });
        const others = registered.filter((r) => r.name.startsWith("storage-") && !stateful.includes(r.name));
        expect(others.length).toBeGreaterThan(10);
        for (const other of others) expect({ name: other.name, protect: other.protect }).toEqual({ name: other.name, protect: undefined });
    });
});

describe("RookCeph with storage unprotected", () => {
    test("storage.protect false leaves every resource deletable (the step before a destroy of the storage)", async () => {
        resetRegistered();
        const ssh = { host: "192.168.10.101", port: 22, user: "homeuser", privateKey: "k" };
        new RookCeph("open", { ...spec, protect: false, nodes: spec.nodes.map((node) => ({ ...node, ssh })), manifests: {}, kubeconfig: "apiVersion: v1\nkind: Config\n", clusterIdentifier: "homelab/test", adminNode: ssh });
        await settle();
        expect(registered.filter((r) => r.name.startsWith("open-") && r.protect)).toEqual([]);
        expect(registered.find((r) => r.name === "open-cluster")?.protect).toBe(false);
    });
});

describe("RookCeph with wipeDisksOnDestroy off and on", () => {
    // each child's type, inputs and dependencies, with the component's name taken out (it is in the steps' own names)
    const childrenOf = (prefix: string) => Object.fromEntries(registered
        .filter((r) => r.name.startsWith(`${prefix}-`))
        .map((r) => [r.name.slice(prefix.length + 1), JSON.parse(JSON.stringify({ type: r.type, inputs: r.inputs, dependsOn: dependencyNamesOf(r.name) }).split(`${prefix}-`).join("NAME-"))]));

    beforeAll(async () => {
        for (const [prefix, wipeDisksOnDestroy] of [["kept", false], ["wiped", true]] as const) {
            new RookCeph(prefix, { ...spec, nodes: spec.nodes.map((node) => ({ ...node, ssh })), manifests: {}, wipeDisksOnDestroy, kubeconfig: "apiVersion: v1\nkind: Config\n", clusterIdentifier: "homelab/test", adminNode: ssh }).guardClaims([]);
        }
        await settle();
    });

    test("turning the flag on or off changes only what the teardown steps' deletes will do: no step appears or goes, nothing is created", () => {
        const kept = childrenOf("kept");
        const wiped = childrenOf("wiped");
        expect(Object.keys(kept).sort()).toEqual(Object.keys(wiped).sort());
        const differing = Object.keys(kept).filter((name) => JSON.stringify(kept[name]) !== JSON.stringify(wiped[name]));
        expect(differing.sort()).toEqual(["cleanup", "cleanup-arm", ...spec.nodes.map((node) => `wipe-${node.hostname}`)].sort());
        for (const name of differing) {
            const { delete: _keptDelete, ...keptRest } = kept[name].inputs;
            const { delete: _wipedDelete, ...wipedRest } = wiped[name].inputs;
            expect(keptRest).toEqual(wipedRest);
            expect(keptRest.create).toBe("true");
            expect(kept[name].dependsOn).toEqual(wiped[name].dependsOn);
        }
        expect(kept["cleanup-arm"].inputs.delete).not.toContain("yes-really-destroy-data");
        expect(kept["cleanup-arm"].inputs.delete).toContain("wipeDisksOnDestroy was off at the last up");
        expect(wiped["cleanup-arm"].inputs.delete).toContain("yes-really-destroy-data");
        expect(kept["wipe-home-server-1"].inputs.delete).not.toContain("dd if=/dev/zero");
        expect(kept.cluster.inputs).toEqual(wiped.cluster.inputs);
    });
});

describe("RookCeph, air-gapped, wiping its disks on destroy", () => {
    const named = (name: string) => registered.find((r) => r.name === name);
    const MIRROR = "http://192.168.77.1:8480/rook-v1.17.8";
    // each node its own address, so a step is seen to go to its own node
    const sshOf = (hostname: string) => ({ ...ssh, host: `192.168.10.${100 + Number(hostname.split("-").pop())}` });

    beforeAll(async () => {
        new RookCeph("lab-rook", {
            ...spec, nodes: spec.nodes.map((node) => ({ ...node, ssh: sshOf(node.hostname) })), manifests: {}, mirror: MIRROR, wipeDisksOnDestroy: true,
            kubeconfig: "apiVersion: v1\nkind: Config\n", clusterIdentifier: "homelab/test", adminNode: ssh,
        });
        await settle();
    });

    test("every node imports the mirror's images before the operator is applied", () => {
        for (const node of spec.nodes) {
            const images = named(`lab-rook-images-${node.hostname}`);
            expect(images?.inputs.create).toContain(`mirror=${MIRROR}`);
            for (const image of rookImages(spec)) expect(images?.inputs.create).toContain(image);
            expect(images?.inputs.delete).toContain("ctr -n k8s.io images rm");
        }
        expect(dependencyNamesOf("lab-rook-operator")).toEqual(expect.arrayContaining(spec.nodes.map((node) => `lab-rook-images-${node.hostname}`)));
        expect(named("lab-rook-operator")?.inputs.create).toContain(`${MIRROR}/manifests/operator.yaml`);
        // a replaced import's delete (which removes the images by name) must not run after the new import
        for (const node of spec.nodes) expect(named(`lab-rook-images-${node.hostname}`)?.deleteBeforeReplace).toBe(true);
    });

    test("destroy order: pools, arm the wipe, cluster, wait for Rook's wipe, each node's own wipe, operator", () => {
        expect(dependencyNamesOf("lab-rook-cleanup")).toEqual(expect.arrayContaining(["lab-rook-operator", ...spec.nodes.map((node) => `lab-rook-wipe-${node.hostname}`)]));
        for (const node of spec.nodes) {
            expect((secretValue(named(`lab-rook-wipe-${node.hostname}`)?.inputs.connection) as { host: string }).host).toBe(sshOf(node.hostname).host);
            expect(named(`lab-rook-wipe-${node.hostname}`)?.inputs.delete).toContain(`for device in /dev/sdb; do`);
        }
        expect(dependencyNamesOf("lab-rook-cluster")).toEqual(expect.arrayContaining(["lab-rook-operator", "lab-rook-cleanup"]));
        expect(dependencyNamesOf("lab-rook-cleanup-arm")).toContain("lab-rook-cluster");
        for (const pool of ["lab-rook-block-pool", "lab-rook-filesystem"]) expect(dependencyNamesOf(pool)).toContain("lab-rook-cleanup-arm");
        expect(named("lab-rook-cleanup")?.inputs.delete).toContain("cluster-cleanup-job-");
        expect(named("lab-rook-cleanup-arm")?.inputs.delete).toContain("yes-really-destroy-data");
        expect(named("lab-rook-cluster")?.inputs.spec.cleanupPolicy.confirmation).toBe("");
    });
});

describe("the wait for HEALTH_OK, run by bash against stand-in kubectl, date and sleep", () => {
    // a clock that moves 5 minutes per reading (two per round: the bound check and the progress line)
    const ceph = standIns({
        date: `now=$(cat "$STANDINS/clock" 2>/dev/null || echo 1000); echo $((now + 300)) > "$STANDINS/clock"; echo "$now"`,
        sleep: "true",
        kubectl: `case "$*" in
  *"get cephcluster"*"health"*) cat "$STANDINS/health" ;;
  *"get cephcluster"*"version.image"*) cat "$STANDINS/running-image" 2>/dev/null || echo ${spec.cephImage} ;;
  *"exec deploy/rook-ceph-operator"*" versions") cat "$STANDINS/versions" 2>/dev/null || echo '{"overall": {"ceph version 19.2.3 (c92aebb279828e9c3c1f5d24613efca272649e62) squid (stable)": 10}}' ;;
  *"get cephcluster"*"details"*) echo "SLOW_PING_TIME_FRONT" ;;
  *"exec deploy/rook-ceph-operator"*"osd stat"*) cat "$STANDINS/osd-stat" ;;
  *"get cephcluster"*"fsid"*) cat "$STANDINS/fsid" 2>/dev/null || true ;;
  *"exec deploy/rook-ceph-operator"*"health detail"*) cat "$STANDINS/health-detail" 2>/dev/null || echo HEALTH_WARN ;;
  *"delete pod -l app=rook-ceph-mon,mon="*) echo "$*" >> "$STANDINS/deleted"; if [ -e "$STANDINS/restart-heals" ]; then echo HEALTH_OK > "$STANDINS/health"; fi ;;
  *"exec deploy/rook-ceph-operator"*"mgr fail"*) echo "mgr fail" >> "$STANDINS/deleted"; if [ -e "$STANDINS/restart-heals" ]; then echo HEALTH_OK > "$STANDINS/health"; fi ;;
  *"get cephblockpool"*|*"get cephfilesystem"*) echo Ready ;;
  *) echo "unexpected: kubectl $*" >&2; exit 2 ;;
esac`,
    });
    afterAll(() => ceph.cleanup());

    function wait(answers: { health: string; osdStat: string; healthDetail?: string; restartHeals?: boolean; runningImage?: string; versions?: string }, healthTimeoutMinutes?: number) {
        for (const file of ["clock", "deleted", "health-detail", "restart-heals", "fsid", "running-image", "versions"]) fs.rmSync(path.join(ceph.dir, file), { force: true });
        if (answers.runningImage) fs.writeFileSync(path.join(ceph.dir, "running-image"), answers.runningImage);
        if (answers.versions) fs.writeFileSync(path.join(ceph.dir, "versions"), answers.versions);
        fs.writeFileSync(path.join(ceph.dir, "fsid"), FSID);
        if (answers.healthDetail) fs.writeFileSync(path.join(ceph.dir, "health-detail"), answers.healthDetail);
        if (answers.restartHeals) fs.writeFileSync(path.join(ceph.dir, "restart-heals"), "");
        fs.writeFileSync(path.join(ceph.dir, "health"), answers.health);
        fs.writeFileSync(path.join(ceph.dir, "osd-stat"), answers.osdStat);
        return ceph.run(renderWaitScript({ ...spec, healthTimeoutMinutes }));
    }

    test("it gives up when the clock says so, however few rounds fit, naming the key that sets the bound", () => {
        const result = wait({ health: "HEALTH_WARN", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20", healthDetail: "HEALTH_WARN 1 osds down\n[WRN] OSD_DOWN: 1 osds down" });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("[WRN] OSD_DOWN: 1 osds down");
        const rounds = result.stdout.split("\n").filter((line) => line.includes("s of 1200s] Ceph health HEALTH_WARN; daemons pending; OSDs (total up in) 3 3 3 of 3"));
        expect(rounds.map((line) => line.slice(0, line.indexOf("]") + 1))).toEqual(["[600s of 1200s]", "[1200s of 1200s]"]);
        expect(result.stderr).toContain("Ceph did not become healthy with 3 OSDs in 20 minutes (storage.healthTimeoutMinutes)");
        expect(result.stderr).toContain("SLOW_PING_TIME_FRONT");
    });

    test("a longer bound from the stack gives it more time", () => {
        const result = wait({ health: "HEALTH_WARN", osdStat: "3 osds: 2 up (since 2m), 3 in (since 2m); epoch: e20" }, 45);
        expect(result.status).toBe(1);
        expect(result.stdout.split("\n").filter((line) => line.includes("s of 2700s]")).length).toBe(4);
        expect(result.stderr).toContain("in 45 minutes (storage.healthTimeoutMinutes)");
    });

    const slowOps = (seconds: number) => `HEALTH_WARN 1 slow ops, oldest one blocked for ${seconds} sec, mon.b has slow ops
[WRN] SLOW_OPS: 1 slow ops, oldest one blocked for ${seconds} sec, mon.b has slow ops`;
    const deleted = () => (fs.existsSync(path.join(ceph.dir, "deleted")) ? fs.readFileSync(path.join(ceph.dir, "deleted"), "utf8").trim().split("\n") : []);

    test("a mon holding one op for 5 minutes or more is restarted, and the wait goes on to HEALTH_OK", () => {
        const result = wait({ health: "HEALTH_WARN", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20", healthDetail: slowOps(740), restartHeals: true });
        expect(result.stdout).toContain("mon.b has held one op for 740 s: restarting it once");
        expect(deleted()).toEqual([expect.stringContaining("-n rook-ceph delete pod -l app=rook-ceph-mon,mon=b --wait=false")]);
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("is HEALTH_OK");
    });

    test("a mon is restarted once only, even if its op stays blocked", () => {
        const result = wait({ health: "HEALTH_WARN", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20", healthDetail: slowOps(740) }, 45);
        expect(result.status).toBe(1);
        expect(deleted()).toHaveLength(1);
    });

    test("ops blocked for less than 5 minutes restart nothing", () => {
        const result = wait({ health: "HEALTH_WARN", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20", healthDetail: slowOps(299), restartHeals: true });
        expect(result.status).toBe(1);
        expect(deleted()).toEqual([]);
        expect(result.stdout).not.toContain("restarting");
    });

    const moduleFailed = "HEALTH_ERR Module 'devicehealth' has failed: unknown operation\n[ERR] MGR_MODULE_ERROR: Module 'devicehealth' has failed: unknown operation";

    test("a failed mgr module (HEALTH_ERR) fails the mgr over, once, and the wait goes on to HEALTH_OK", () => {
        const result = wait({ health: "HEALTH_ERR", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20", healthDetail: moduleFailed, restartHeals: true });
        expect(result.stdout).toContain("mgr module devicehealth has failed: failing the mgr over once, which restarts its modules");
        expect(deleted()).toEqual(["mgr fail"]);
        expect(result.status).toBe(0);
        const stuck = wait({ health: "HEALTH_ERR", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20", healthDetail: moduleFailed }, 45);
        expect(stuck.status).toBe(1);
        expect(deleted()).toEqual(["mgr fail"]);
    });

    test("HEALTH_ERR for another reason fails no mgr over", () => {
        const result = wait({ health: "HEALTH_ERR", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20", healthDetail: "HEALTH_ERR 1 full osd(s)\n[ERR] OSD_FULL: 1 full osd(s)", restartHeals: true });
        expect(result.status).toBe(1);
        expect(deleted()).toEqual([]);
    });

    test("after a new cephImage: HEALTH_OK is not done until Rook runs that image and every daemon reports one version", () => {
        const twoVersions = '{"mon": {"ceph version 18.2.7 (x) reef (stable)": 1, "ceph version 19.2.3 (y) squid (stable)": 2}, "overall": {"ceph version 18.2.7 (x) reef (stable)": 4, "ceph version 19.2.3 (y) squid (stable)": 6}}';
        const mixed = wait({ health: "HEALTH_OK", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20", versions: twoVersions });
        expect(mixed.status).toBe(1);
        expect(mixed.stdout).toContain(`daemons on 2 versions, Rook's image ${spec.cephImage}`);
        const oldImage = wait({ health: "HEALTH_OK", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20", runningImage: "quay.io/ceph/ceph:v18.2.7" });
        expect(oldImage.status).toBe(1);
        expect(oldImage.stdout).toContain("daemons on 1 versions, Rook's image quay.io/ceph/ceph:v18.2.7");
    });

    test("HEALTH_OK with every OSD up and in ends the wait, printing the cluster's fsid for whoever reads the log", () => {
        const result = wait({ health: "HEALTH_OK", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20" });
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        expect(result.stdout).toContain("is HEALTH_OK: 3 OSDs up and in");
        expect(result.stdout).toContain(`Ceph fsid: ${FSID}`);
    });
});

describe("Ceph's health as another component's gate (e.g. between the nodes of an upgrade)", () => {
    const ceph = standIns({
        kubectl: `shift 2
case "$*" in
  "-n rook-ceph get cephcluster rook-ceph -o name") [ -f "$STANDINS/cluster" ] && echo cephcluster.ceph.rook.io/rook-ceph ;;
  *" -- ceph "*" health") cat "$STANDINS/health" ;;
  *" -- ceph "*" health detail") echo "HEALTH_WARN 1 osds down; [WRN] OSD_DOWN: 1 osds down"; ;;
  *" -- ceph "*" osd stat") cat "$STANDINS/osd-stat" ;;
  *) echo "unexpected: kubectl $*" >&2; exit 2 ;;
esac`,
        sleep: "exit 0",
    });
    afterAll(() => ceph.cleanup());
    const run = (state: { cluster: boolean; health?: string; osdStat?: string }) => {
        for (const file of ["cluster", "health", "osd-stat"]) fs.rmSync(path.join(ceph.dir, file), { force: true });
        if (state.cluster) fs.writeFileSync(path.join(ceph.dir, "cluster"), "");
        fs.writeFileSync(path.join(ceph.dir, "health"), state.health ?? "");
        fs.writeFileSync(path.join(ceph.dir, "osd-stat"), state.osdStat ?? "");
        fs.writeFileSync(path.join(ceph.dir, "admin.conf"), "");
        const result = ceph.run(renderHealthGateScript(0), { "/etc/kubernetes/admin.conf": "admin.conf" });
        return { status: result.status, output: result.stdout + result.stderr };
    };

    test("no CephCluster: passes; HEALTH_OK with every OSD up and in: passes", () => {
        expect(run({ cluster: false })).toMatchObject({ status: 0, output: expect.stringContaining("no CephCluster rook-ceph: no Ceph to wait for") });
        expect(run({ cluster: true, health: "HEALTH_OK", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e20" }))
            .toMatchObject({ status: 0, output: expect.stringContaining("Ceph is HEALTH_OK with 3 OSDs up and in") });
    });

    test("HEALTH_OK with an OSD down, or a warning: fails when the time is up, with Ceph's own detail", () => {
        const down = run({ cluster: true, health: "HEALTH_OK", osdStat: "3 osds: 2 up (since 2m), 3 in (since 2m); epoch: e21" });
        expect(down.status).toBe(1);
        expect(down.output).toContain("Ceph was not HEALTH_OK with every OSD up and in within 0 minutes (storage.healthTimeoutMinutes):");
        expect(down.output).toContain("OSD_DOWN: 1 osds down");
        expect(run({ cluster: true, health: "HEALTH_WARN noout flag(s) set", osdStat: "3 osds: 3 up (since 2m), 3 in (since 2m); epoch: e22" }).status).toBe(1);
    });
});

describe("a new storage.rookVersion against the operator that runs (run by bash against a stand-in kubectl)", () => {
    const cluster = standIns({
        kubectl: `shift 2
case "$*" in
  "-n rook-ceph get deployment rook-ceph-operator -o jsonpath="*) cat "$STANDINS/image" ;;
  "-n rook-ceph get cephcluster rook-ceph -o name") echo cephcluster.ceph.rook.io/rook-ceph ;;
  *" -- ceph "*" health detail") cat "$STANDINS/health" ;;
  *) echo "unexpected: kubectl $*" >&2; exit 2 ;;
esac`,
    });
    afterAll(() => cluster.cleanup());
    const check = (running: string, wanted: string, health = "HEALTH_OK") => {
        fs.writeFileSync(path.join(cluster.dir, "image"), running);
        fs.writeFileSync(path.join(cluster.dir, "health"), health);
        fs.writeFileSync(path.join(cluster.dir, "admin.conf"), "");
        const result = cluster.run(script(KUBECTL_FUNCTION, renderRookUpgradeCheck(wanted)), { "/etc/kubernetes/admin.conf": "admin.conf" });
        return { status: result.status, output: (result.stdout + result.stderr).trim() };
    };

    test("no Rook yet, or the same release: nothing to say; a patch or the next minor on a healthy Ceph: allowed", () => {
        expect(check("", "1.17.8")).toEqual({ status: 0, output: "" });
        expect(check("docker.io/rook/ceph:v1.17.8", "1.17.8")).toEqual({ status: 0, output: "" });
        expect(check("docker.io/rook/ceph:v1.16.9", "1.17.8", "HEALTH_WARN 1 pool(s) have no replicas configured")).toEqual({ status: 0, output: "upgrading Rook from 1.16.9 to 1.17.8" });
    });

    test("two minors up, a downgrade, or Ceph in error: refused naming storage.rookVersion, nothing applied", () => {
        expect(check("docker.io/rook/ceph:v1.15.3", "1.17.8")).toEqual({
            status: 1, output: "storage.rookVersion 1.17.8 is more than one minor release above the running Rook 1.15.3; Rook upgrades one minor at a time: set storage.rookVersion to 1.16.x first",
        });
        expect(check("docker.io/rook/ceph:v1.17.8", "1.16.9")).toEqual({
            status: 1, output: "storage.rookVersion 1.16.9 is older than the running Rook 1.17.8; Rook cannot be downgraded: set storage.rookVersion to 1.17.8 or later",
        });
        const error = check("docker.io/rook/ceph:v1.16.9", "1.17.8", "HEALTH_ERR 1 full osd(s)\n[ERR] OSD_FULL: 1 full osd(s)");
        expect(error.status).toBe(1);
        expect(error.output).toContain("Rook is not upgraded (storage.rookVersion 1.17.8) while Ceph is in error or does not answer; nothing was changed:");
        expect(error.output).toContain("OSD_FULL: 1 full osd(s)");
    });
});

describe("a new storage.cephImage against the Ceph that runs (run by bash against a stand-in kubectl)", () => {
    const cluster = standIns({
        kubectl: `shift 2
case "$*" in
  "-n rook-ceph get cephcluster rook-ceph -o name") [ -f "$STANDINS/cluster" ] && echo cephcluster.ceph.rook.io/rook-ceph ;;
  "-n rook-ceph get cephcluster rook-ceph -o jsonpath={.status.version.image}") cat "$STANDINS/image" ;;
  "-n rook-ceph get cephcluster rook-ceph -o jsonpath={.status.version.version}") cat "$STANDINS/version" ;;
  *" -- ceph "*" health detail") cat "$STANDINS/health" ;;
  *) echo "unexpected: kubectl $*" >&2; exit 2 ;;
esac`,
    });
    afterAll(() => cluster.cleanup());
    const check = (running: { image: string; version: string } | undefined, wanted: string, health = "HEALTH_OK") => {
        fs.rmSync(path.join(cluster.dir, "cluster"), { force: true });
        if (running !== undefined) fs.writeFileSync(path.join(cluster.dir, "cluster"), "");
        fs.writeFileSync(path.join(cluster.dir, "image"), running?.image ?? "");
        fs.writeFileSync(path.join(cluster.dir, "version"), running?.version ?? "");
        fs.writeFileSync(path.join(cluster.dir, "health"), health);
        fs.writeFileSync(path.join(cluster.dir, "admin.conf"), "");
        const result = cluster.run(renderCephImageCheckScript(wanted), { "/etc/kubernetes/admin.conf": "admin.conf" });
        return { status: result.status, output: (result.stdout + result.stderr).trim() };
    };
    const reef = { image: "quay.io/ceph/ceph:v18.2.7", version: "18.2.7-0" };

    test("the release is read from the image's tag", () => {
        expect(cephImageVersion("quay.io/ceph/ceph:v18.2.7")).toBe("18.2.7");
        expect(cephImageVersion("registry.lab:5000/ceph/ceph:v19.2.3-20250717")).toBe("19.2.3");
        expect(cephImageVersion("quay.io/ceph/ceph@sha256:0123abcd")).toBeUndefined();
    });

    test("no cluster yet, or the image it runs: nothing to check; a later release on a Ceph that is not in error: allowed", () => {
        expect(check(undefined, "quay.io/ceph/ceph:v18.2.7")).toEqual({ status: 0, output: "no CephCluster rook-ceph yet: it starts at quay.io/ceph/ceph:v18.2.7" });
        expect(check(reef, "quay.io/ceph/ceph:v18.2.7")).toEqual({ status: 0, output: "Ceph runs quay.io/ceph/ceph:v18.2.7" });
        expect(check(reef, "quay.io/ceph/ceph:v19.2.3", "HEALTH_WARN noout flag(s) set")).toEqual({
            status: 0, output: "moving Ceph from quay.io/ceph/ceph:v18.2.7 to quay.io/ceph/ceph:v19.2.3; Rook restarts its daemons one at a time",
        });
    });

    test("Ceph in error or silent, an older release, or three majors on: refused naming storage.cephImage, nothing changed", () => {
        const error = check(reef, "quay.io/ceph/ceph:v19.2.3", "HEALTH_ERR 1 full osd(s)\n[ERR] OSD_FULL: 1 full osd(s)");
        expect(error.status).toBe(1);
        expect(error.output).toContain("Ceph is not moved to storage.cephImage quay.io/ceph/ceph:v19.2.3 while Ceph is in error or does not answer; nothing was changed:");
        expect(error.output).toContain("OSD_FULL: 1 full osd(s)");
        expect(check(reef, "quay.io/ceph/ceph:v19.2.3", "")).toMatchObject({ status: 1, output: expect.stringContaining("no answer from the ceph CLI in the operator pod") });
        expect(check(reef, "quay.io/ceph/ceph:v18.2.4")).toEqual({
            status: 1,
            output: "storage.cephImage quay.io/ceph/ceph:v18.2.4 is Ceph 18.2.4, older than the running Ceph 18.2.7 (quay.io/ceph/ceph:v18.2.7); Ceph cannot be downgraded: keep storage.cephImage at quay.io/ceph/ceph:v18.2.7 or a later release",
        });
        expect(check({ image: "quay.io/ceph/ceph:v17.2.8", version: "17.2.8-0" }, "quay.io/ceph/ceph:v20.2.0")).toEqual({
            status: 1,
            output: "storage.cephImage quay.io/ceph/ceph:v20.2.0 is Ceph 20.2.0, more than two major releases above the running Ceph 17.2.8; Ceph upgrades from the two previous majors: go through a release in between first",
        });
    });

    test("an image by digest is not compared by release, and is still refused while Ceph is in error", () => {
        const digest = check(reef, "quay.io/ceph/ceph@sha256:0123abcd");
        expect(digest.status).toBe(0);
        expect(digest.output).toContain("names no Ceph release in its tag: its release is not compared with the running 18.2.7");
        expect(check(reef, "quay.io/ceph/ceph@sha256:0123abcd", "HEALTH_ERR x").status).toBe(1);
    });
});
