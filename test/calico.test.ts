import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { installMocks, promiseOf, registered, resetRegistered, secretValue, settle } from "./helpers/mocks";
import { dependencyNamesOf, recordDependencies } from "./helpers/deps";
import { expectGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import {
    calicoBundle, CalicoSpec, renderCalicoResources, renderCalicoResourcesYaml, renderWaitScript, upstreamManifestUrl, calicoSpecProblems,
} from "../components/calico/render";
import { bundleFiles, bundleFingerprint, renderApplyBundleScript, renderDeleteBundleScript } from "../components/manifests";
import {
    calicoImages, installMethodProblems, ManifestInstall, renderKustomization, renderManifestApplyScript, renderManifestDeleteScript,
    renderManifestWaitScript, upstreamVxlanManifestUrl,
} from "../components/calico/manifest";
import { renderImageImportScript, renderImageRemoveScript } from "../components/calico/images";
import { IMPORTED_IMAGES_DIR } from "../components/airgap";
import { renderCalicoUpgradeCheck } from "../components/calico/upgrade";
import { KUBECTL_FUNCTION } from "../components/kubectl";
import { script } from "../components/script";
import { standIns } from "./helpers/standins";

installMocks();
recordDependencies();
const { CalicoNetwork } = require("../components/calico") as typeof import("../components/calico");

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const spec: CalicoSpec = {
    version: "3.30.3",
    podCidr: "172.16.0.0/16",
    encapsulation: "IPIP",
    natOutgoing: true,
    blockSize: 26,
    mtu: 0,
    wireguard: false,
    nodeAddressCidr: "10.0.0.0/24",
};
const ssh = { host: "192.168.10.101", port: 22, user: "homeuser", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" };
const nodes = ["home-server-1", "home-server-2", "home-server-3"].map((hostname, index) => ({ hostname, ssh: { ...ssh, host: `192.168.10.10${index + 1}` } }));
const MIRROR = "http://192.168.77.1:8480/calico-v3.31.0";
/** The manifest method as the air-gapped lab uses it: Calico 3.31.0, VXLAN. */
const vxlan: ManifestInstall = { ...spec, version: "3.31.0", encapsulation: "VXLAN", source: { kind: "mirror", url: MIRROR } };

// A stand-in for the air-gapped copy of tigera-operator.yaml, with fixed content so goldens are stable.
const localDir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-calico-"));
const localFile = path.join(localDir, "tigera-operator.yaml");
fs.writeFileSync(localFile, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tigera-operator\n");
afterAll(() => fs.rmSync(localDir, { recursive: true, force: true }));

const upstream = calicoBundle("3.30.3", bundleFiles({}, upstreamManifestUrl("3.30.3"), ["tigera-operator.yaml"], true));
const airGapped = calicoBundle("3.30.3", bundleFiles({ path: localFile }, upstreamManifestUrl("3.30.3"), ["tigera-operator.yaml"], true));

describe("calico renderers", () => {
    const scripts: Record<string, string> = {
        "operator-apply.sh": renderApplyBundleScript(upstream),
        "operator-apply-airgapped.sh": renderApplyBundleScript(airGapped),
        "operator-delete.sh": renderDeleteBundleScript(upstream),
        "wait.sh": renderWaitScript(spec),
    };
    test.each(Object.keys(scripts))("%s matches its golden and passes shellcheck", (file) => {
        expectGolden(`${file}`, scripts[file]);
        expectShellcheckClean(`calico-${file}`, scripts[file]);
    });

    test("resources match their goldens", () => {
        expectGolden("resources-ipip.yaml", renderCalicoResourcesYaml(renderCalicoResources(spec)));
        expectGolden("resources-vxlan-wireguard.yaml", renderCalicoResourcesYaml(renderCalicoResources({ ...spec, encapsulation: "VXLANCrossSubnet", natOutgoing: false, mtu: 1400, wireguard: true })));
    });

    test("BGP runs for IPIP and plain routing, not for VXLAN", () => {
        const bgp = (encapsulation: CalicoSpec["encapsulation"]) => (renderCalicoResources({ ...spec, encapsulation }).installation.spec.calicoNetwork as any).bgp;
        expect([bgp("IPIP"), bgp("IPIPCrossSubnet"), bgp("None"), bgp("VXLAN"), bgp("VXLANCrossSubnet")]).toEqual(["Enabled", "Enabled", "Enabled", "Disabled", "Disabled"]);
    });

    test("the node address comes from the internal network; MTU 0 is left to Calico", () => {
        const network = renderCalicoResources(spec).installation.spec.calicoNetwork as any;
        expect(network.nodeAddressAutodetectionV4).toEqual({ cidrs: ["10.0.0.0/24"] });
        expect(network).not.toHaveProperty("mtu");
        expect(renderCalicoResources(spec).felixConfiguration).toBeUndefined();
    });

    test("the upstream bundle is the pinned release and the air-gapped one is checked by sha256", () => {
        expect(upstream.files).toEqual([{ name: "tigera-operator.yaml", url: "https://raw.githubusercontent.com/projectcalico/calico/v3.30.3/manifests/tigera-operator.yaml" }]);
        expect(bundleFiles({ url: "http://mirror.lan/tigera-operator.yaml" }, "unused", ["tigera-operator.yaml"], true)[0].url).toBe("http://mirror.lan/tigera-operator.yaml");
        expect(scripts["operator-apply-airgapped.sh"]).toContain(`${airGapped.files[0].sha256}  /etc/homelab/manifests/calico/tigera-operator.yaml`);
        expect(bundleFingerprint(airGapped)).not.toBe(bundleFingerprint(upstream));
        expect(() => bundleFiles({ url: "http://x", path: localFile }, "unused", ["a.yaml"], true)).toThrow(/sets both url and path; choose one/);
        expect(() => bundleFiles({ path: path.join(localDir, "missing.yaml") }, "unused", ["a.yaml"], true)).toThrow(/does not exist/);
    });

    test("a block larger than the pod network, or an MTU Calico cannot use, is refused in the words the stack config's check uses", () => {
        expect(calicoSpecProblems(spec)).toEqual([]);
        expect(calicoSpecProblems({ ...spec, podCidr: "172.16.0.0/27", blockSize: 26, mtu: 300 })).toEqual([
            { arg: "blockSize", value: 26, message: "is larger than the pod network /27; expected a block size from 27 to 32" },
            { arg: "mtu", value: 300, message: "is not a valid Calico MTU; expected 0 (Calico detects it) or 576-9216" },
        ]);
    });
});

describe("CalicoNetwork", () => {
    let network: InstanceType<typeof CalicoNetwork>;
    const named = (name: string) => {
        const found = registered.find((r) => r.name === name);
        if (!found) throw new Error(`${name} was not registered; registered: ${registered.map((r) => r.name).join(", ")}`);
        return found;
    };

    beforeAll(async () => {
        resetRegistered();
        network = new CalicoNetwork("calico", { ...spec, wireguard: true, manifests: {}, kubeconfig: "apiVersion: v1\nkind: Config\n", clusterIdentifier: "homelab/test", adminNode: ssh, nodes });
        new CalicoNetwork("calico-airgapped", { ...spec, manifests: { path: localFile }, kubeconfig: "kubeconfig", clusterIdentifier: "homelab/test", adminNode: ssh, nodes });
        await settle();
    });

    test("registers its children under its name", () => {
        expect(named("calico").type).toBe("homelab:index:CalicoNetwork");
        expect(named("calico-provider").type).toBe("pulumi:providers:kubernetes");
        expect(named("calico-operator").type).toBe("command:remote:Command");
        expect(named("calico-installation").type).toBe("kubernetes:operator.tigera.io/v1:Installation");
        expect(named("calico-apiserver").type).toBe("kubernetes:operator.tigera.io/v1:APIServer");
        expect(named("calico-felix-configuration").type).toBe("kubernetes:crd.projectcalico.org/v1:FelixConfigurationPatch");
        expect(named("calico-wait").type).toBe("command:remote:Command");
        expect(registered.filter((r) => r.name.startsWith("calico-operator-copy")).map((r) => r.name)).toEqual([]);
        expect(registered.filter((r) => /^calico-(images|manifest)/.test(r.name)).map((r) => r.name)).toEqual([]);
    });

    test("the provider's kubeconfig is a secret", () => {
        expect(named("calico-provider").inputs.kubeconfig?.[SECRET_SIG]).toBeDefined();
    });

    test("the operator bundle is applied and deleted on the admin node", () => {
        const operator = named("calico-operator").inputs;
        expect(operator.create).toContain("apply --server-side --force-conflicts -f /etc/homelab/manifests/calico/tigera-operator.yaml");
        expect(operator.create).toContain(upstreamManifestUrl("3.30.3"));
        expect(operator.delete).toContain("delete -f /etc/homelab/manifests/calico/tigera-operator.yaml --ignore-not-found --wait=false");
    });

    test("the custom resources wait for the operator, and the wait for them", () => {
        for (const child of ["calico-installation", "calico-apiserver", "calico-felix-configuration"]) {
            expect(dependencyNamesOf(child)).toContain("calico-operator");
        }
        expect(dependencyNamesOf("calico-wait")).toEqual(expect.arrayContaining(["calico-installation", "calico-apiserver", "calico-felix-configuration"]));
        expect(named("calico-installation").inputs.spec.calicoNetwork.ipPools[0]).toMatchObject({ cidr: "172.16.0.0/16", encapsulation: "IPIP", natOutgoing: "Enabled", blockSize: 26 });
    });

    test("an air-gapped bundle is copied to the node before it is applied", () => {
        const copy = named("calico-airgapped-operator-copy-tigera-operator");
        expect(copy.type).toBe("command:remote:CopyToRemote");
        expect(copy.inputs.remotePath).toBe("/tmp/homelab-calico-tigera-operator.yaml");
        expect(dependencyNamesOf("calico-airgapped-operator")).toContain("calico-airgapped-operator-copy-tigera-operator");
        expect(registered.some((r) => r.name === "calico-airgapped-felix-configuration")).toBe(false);
    });

    test("outputs", async () => {
        expect(await promiseOf(network.version)).toBe("3.30.3");
        expect(await promiseOf(network.podCidr)).toBe("172.16.0.0/16");
    });
});

describe("calico manifest method renderers", () => {
    const localManifest = path.join(localDir, "calico-vxlan.yaml");
    fs.writeFileSync(localManifest, "# image: quay.io/calico/node:v3.31.0\n");
    const scripts: Record<string, string> = {
        "manifest-apply-mirror.sh": renderManifestApplyScript(vxlan),
        "manifest-apply-upstream.sh": renderManifestApplyScript({ ...vxlan, source: { kind: "url", url: upstreamVxlanManifestUrl("3.31.0") } }),
        "manifest-apply-path.sh": renderManifestApplyScript({ ...vxlan, source: { kind: "path", localPath: localManifest, sha256: "0".repeat(64) } }),
        "manifest-delete.sh": renderManifestDeleteScript(),
        "manifest-wait.sh": renderManifestWaitScript(vxlan),
        "images-import.sh": renderImageImportScript({ version: "3.31.0", mirror: MIRROR }, "home-server-1"),
        "images-remove.sh": renderImageRemoveScript({ version: "3.31.0" }, "home-server-1"),
    };
    test.each(Object.keys(scripts))("%s matches its golden and passes shellcheck", (file) => {
        expectGolden(`${file}`, scripts[file]);
        expectShellcheckClean(`calico-${file}`, scripts[file]);
    });

    test("the overlays match their goldens", () => {
        expectGolden("manifest-kustomization-vxlan.yaml", renderKustomization(vxlan));
        expectGolden("manifest-kustomization-crosssubnet.yaml", renderKustomization({ ...vxlan, encapsulation: "VXLANCrossSubnet", natOutgoing: false, mtu: 1400, wireguard: true }));
    });

    test("the manifest comes from the mirror, checked against its SHA256SUMS, and must be the pinned release", () => {
        const apply = scripts["manifest-apply-mirror.sh"];
        expect(apply).toContain(`mirror=${MIRROR}\n`);
        expect(apply).toContain(`fetch manifests/calico-vxlan.yaml "$work/calico-vxlan.yaml"`);
        expect(apply).toContain("grep -F calico/node:v3.31.0 ");
        expect(apply).toContain(`kc apply --server-side --force-conflicts -k "$dir"`);
        expect(scripts["manifest-apply-upstream.sh"]).toContain("https://raw.githubusercontent.com/projectcalico/calico/v3.31.0/manifests/calico-vxlan.yaml");
    });

    test("the wait covers calico-node, calico-kube-controllers and the pool calico-node created", () => {
        const wait = scripts["manifest-wait.sh"];
        expect(wait).toContain("rollout daemonset/calico-node 600 k8s-app=calico-node");
        expect(wait).toContain("rollout deployment/calico-kube-controllers 300 k8s-app=calico-kube-controllers");
        expect(wait).toContain("want='172.16.0.0/16 26 Always true'");
        expect(wait).not.toContain("tigerastatus");
    });

    test("each node imports the images once per checksum, with stamps of their own, and checks the pinned images are there", () => {
        const images = scripts["images-import.sh"];
        expect(images).toContain(`"${IMPORTED_IMAGES_DIR}/calico-$name.sha256"`);
        expect(images).toContain("ctr -n k8s.io images import");
        expect(images).toContain(`for image in ${calicoImages("3.31.0").join(" ")}; do`);
        expect(calicoImages("v3.31.0")).toEqual(["quay.io/calico/cni:v3.31.0", "quay.io/calico/node:v3.31.0", "quay.io/calico/kube-controllers:v3.31.0"]);
    });

    test("only VXLAN pools: IPIP and unencapsulated pools need BGP, which calico-vxlan.yaml does not run", () => {
        const method = (encapsulation: "VXLAN" | "VXLANCrossSubnet" | "IPIP") => installMethodProblems({ installMethod: "manifest", encapsulation, manifests: {} });
        expect(method("VXLAN")).toEqual([]);
        expect(method("VXLANCrossSubnet")).toEqual([]);
        expect(method("IPIP")).toEqual([
            { arg: "encapsulation", value: "IPIP", message: "is not available with installMethod manifest; expected VXLAN or VXLANCrossSubnet (calico-vxlan.yaml runs no BGP, which IPIP and None need)" },
        ]);
        expect(installMethodProblems({ installMethod: "operator", encapsulation: "IPIP", mirror: "http://m/calico-v3.31.0", manifests: {} }).map((problem) => problem.arg)).toEqual(["mirror"]);
    });
});

// The overlay against the real calico-vxlan.yaml of 3.31.0, built by the kustomize inside kubectl
// (as `kubectl apply -k` does on the admin node). CALICO_VXLAN_MANIFEST points at another copy.
describe("kubectl kustomize applies the overlay to the upstream calico-vxlan.yaml", () => {
    const candidates = [
        process.env.CALICO_VXLAN_MANIFEST,
        "/root/go/pkg/mod/github.com/projectcalico/calico@v0.0.0-20251021213802-b1f3c43f8437/manifests/calico-vxlan.yaml",
    ].filter((file): file is string => !!file);
    const upstreamFile = candidates.find((file) => fs.existsSync(file));
    const haveKubectl = spawnSync("sh", ["-c", "command -v kubectl"]).status === 0;
    const maybe = upstreamFile && haveKubectl ? test : test.skip;
    if (!upstreamFile || !haveKubectl) console.warn("skipping the kustomize test: needs kubectl and Calico 3.31.0's calico-vxlan.yaml (CALICO_VXLAN_MANIFEST)");

    function build(install: ManifestInstall): any[] {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-kustomize-"));
        try {
            fs.copyFileSync(upstreamFile as string, path.join(dir, "calico-vxlan.yaml"));
            fs.writeFileSync(path.join(dir, "kustomization.yaml"), renderKustomization(install));
            const result = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
            if (result.status !== 0) throw new Error(`kubectl kustomize failed:\n${result.stderr}`);
            return YAML.parseAllDocuments(result.stdout).map((doc) => doc.toJS()).filter(Boolean);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    const find = (objects: any[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
    const envOf = (container: any) => Object.fromEntries((container.env as any[]).map((e) => [e.name, e.value ?? e.valueFrom]));

    maybe("calico-node gets the lab's pool, address and Felix settings, and nothing else changes", () => {
        const upstream = YAML.parseAllDocuments(fs.readFileSync(upstreamFile as string, "utf8")).map((doc) => doc.toJS()).filter(Boolean);
        const built = build(vxlan);
        const ids = (objects: any[]) => objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort();
        expect(ids(built)).toEqual(ids(upstream));

        const daemonSet = find(built, "DaemonSet", "calico-node");
        const [node] = daemonSet.spec.template.spec.containers;
        expect(envOf(node)).toMatchObject({
            CALICO_IPV4POOL_CIDR: "172.16.0.0/16",
            CALICO_IPV4POOL_BLOCK_SIZE: "26",
            CALICO_IPV4POOL_VXLAN: "Always",
            CALICO_IPV4POOL_IPIP: "Never",
            CALICO_IPV4POOL_NAT_OUTGOING: "true",
            IP_AUTODETECTION_METHOD: "cidr=10.0.0.0/24",
            FELIX_XDPENABLED: "false",
            FELIX_WIREGUARDENABLED: "false",
            // upstream's own settings are kept
            DATASTORE_TYPE: "kubernetes",
            CALICO_NETWORKING_BACKEND: { configMapKeyRef: { name: "calico-config", key: "calico_backend" } },
        });
        // one entry per name: the patch replaced upstream's CALICO_IPV4POOL_VXLAN instead of adding a second one
        expect((node.env as any[]).filter((e) => e.name === "CALICO_IPV4POOL_VXLAN")).toHaveLength(1);
        // everything but calico-node's environment is upstream's
        const upstreamDaemonSet = find(upstream, "DaemonSet", "calico-node");
        const withoutEnv = (ds: any) => ({ ...ds.spec.template.spec, containers: ds.spec.template.spec.containers.map((c: any) => ({ ...c, env: undefined })) });
        expect(withoutEnv(daemonSet)).toEqual(withoutEnv(upstreamDaemonSet));
        expect(find(built, "Deployment", "calico-kube-controllers")).toEqual(find(upstream, "Deployment", "calico-kube-controllers"));
        expect(find(built, "ConfigMap", "calico-config").data).toEqual({ ...find(upstream, "ConfigMap", "calico-config").data, calico_backend: "vxlan", veth_mtu: "0" });
        const images = JSON.stringify(built).match(/quay\.io\/calico\/[a-z-]+:v[0-9.]+/g) ?? [];
        expect([...new Set(images)].sort()).toEqual([...calicoImages("3.31.0")].sort());
    });

    maybe("CrossSubnet, a fixed MTU, no NAT and WireGuard", () => {
        const built = build({ ...vxlan, encapsulation: "VXLANCrossSubnet", natOutgoing: false, mtu: 1400, wireguard: true });
        const [node] = find(built, "DaemonSet", "calico-node").spec.template.spec.containers;
        expect(envOf(node)).toMatchObject({ CALICO_IPV4POOL_VXLAN: "CrossSubnet", CALICO_IPV4POOL_NAT_OUTGOING: "false", FELIX_WIREGUARDENABLED: "true" });
        expect(find(built, "ConfigMap", "calico-config").data.veth_mtu).toBe("1400");
    });
});

describe("CalicoNetwork from calico-vxlan.yaml", () => {
    const named = (name: string) => {
        const found = registered.find((r) => r.name === name);
        if (!found) throw new Error(`${name} was not registered; registered: ${registered.map((r) => r.name).join(", ")}`);
        return found;
    };
    const vxlanArgs = { ...spec, version: "3.31.0", encapsulation: "VXLAN" as const, installMethod: "manifest" as const, kubeconfig: "kubeconfig", clusterIdentifier: "homelab/test", adminNode: ssh, nodes };
    const localManifest = path.join(localDir, "calico-vxlan-local.yaml");
    fs.writeFileSync(localManifest, "# image: quay.io/calico/node:v3.31.0\n");
    let network: InstanceType<typeof CalicoNetwork>;

    beforeAll(async () => {
        resetRegistered();
        network = new CalicoNetwork("vx", { ...vxlanArgs, mirror: MIRROR, manifests: {} });
        new CalicoNetwork("vx-upstream", { ...vxlanArgs, manifests: {} });
        new CalicoNetwork("vx-local", { ...vxlanArgs, manifests: { path: localManifest } });
        await settle();
    });

    test("no operator, no Installation or APIServer, no Kubernetes provider", () => {
        const children = registered.filter((r) => r.name.startsWith("vx-"));
        expect(children.filter((r) => r.type.startsWith("kubernetes:") || r.type.startsWith("pulumi:providers:"))).toEqual([]);
        expect(children.filter((r) => r.name.endsWith("-operator"))).toEqual([]);
        expect(registered.filter((r) => r.name.startsWith("vx-") && !r.name.startsWith("vx-upstream") && !r.name.startsWith("vx-local")).map((r) => r.name).sort()).toEqual(
            ["vx-images-home-server-1", "vx-images-home-server-2", "vx-images-home-server-3", "vx-manifest", "vx-wait"]);
    });

    test("every node imports the images from the mirror before the manifest is applied, and the wait follows the apply", () => {
        for (const node of nodes) {
            const images = named(`vx-images-${node.hostname}`);
            expect((secretValue(images.inputs.connection) as { host: string }).host).toBe(node.ssh.host);
            expect(images.inputs.create).toContain(`echo "Calico 3.31.0 images are in containerd on ${node.hostname}"`);
            expect(images.inputs.delete).toContain("ctr -n k8s.io images rm");
            // a replaced import's delete removes the images by name: it must run before the new import
            expect(images.deleteBeforeReplace).toBe(true);
        }
        expect(dependencyNamesOf("vx-manifest").sort()).toEqual(nodes.map((node) => `vx-images-${node.hostname}`));
        expect(dependencyNamesOf("vx-wait")).toEqual(["vx-manifest"]);
        const manifest = named("vx-manifest").inputs;
        expect((secretValue(manifest.connection) as { host: string }).host).toBe(ssh.host);
        expect(manifest.create).toContain(`mirror=${MIRROR}`);
        expect(manifest.delete).toContain("kc delete -k /etc/homelab/manifests/calico-manifest --ignore-not-found --wait=false");
        expect(named("vx-wait").inputs.create).toContain("rollout daemonset/calico-node");
    });

    test("without a mirror: the upstream file or a local copy, and no image imports", () => {
        expect(registered.filter((r) => /^vx-(upstream|local)-images/.test(r.name))).toEqual([]);
        expect(named("vx-upstream-manifest").inputs.create).toContain(upstreamVxlanManifestUrl("3.31.0"));
        expect(dependencyNamesOf("vx-upstream-manifest")).toEqual([]);
        const copy = named("vx-local-manifest-copy");
        expect(copy.type).toBe("command:remote:CopyToRemote");
        expect(copy.inputs.remotePath).toBe("/tmp/homelab-calico-calico-vxlan.yaml");
        expect(dependencyNamesOf("vx-local-manifest")).toEqual(["vx-local-manifest-copy"]);
    });

    test("outputs", async () => {
        expect(await promiseOf(network.version)).toBe("3.31.0");
        expect(await promiseOf(network.podCidr)).toBe("172.16.0.0/16");
    });

    test("what the method cannot do is refused before anything is created", () => {
        expect(() => new CalicoNetwork("bad-ipip", { ...vxlanArgs, encapsulation: "IPIP", mirror: MIRROR, manifests: {} }))
            .toThrow('CalicoNetwork bad-ipip: encapsulation "IPIP" is not available with installMethod manifest');
        expect(() => new CalicoNetwork("bad-both", { ...vxlanArgs, mirror: MIRROR, manifests: { url: "http://x/calico-vxlan.yaml" } }))
            .toThrow('CalicoNetwork bad-both: manifests {"url":"http://x/calico-vxlan.yaml"} is set as well as the mirror, which serves manifests/calico-vxlan.yaml; keep one of them');
        expect(() => new CalicoNetwork("bad-operator", { ...vxlanArgs, installMethod: "operator", mirror: MIRROR, manifests: {} }))
            .toThrow(`CalicoNetwork bad-operator: mirror "${MIRROR}" needs installMethod manifest; the tigera operator's images are not on the mirror`);
    });
});

describe("a new calico.version against the Calico that runs (run by bash against a stand-in kubectl)", () => {
    const cluster = standIns({ kubectl: `shift 2; case "$*" in "get daemonset -A -l k8s-app=calico-node -o jsonpath="*) cat "$STANDINS/image" ;; *) echo "unexpected: kubectl $*" >&2; exit 2 ;; esac` });
    afterAll(() => cluster.cleanup());
    const check = (running: string, wanted: string) => {
        fs.writeFileSync(path.join(cluster.dir, "image"), running);
        fs.writeFileSync(path.join(cluster.dir, "admin.conf"), "");
        const result = cluster.run(script(KUBECTL_FUNCTION, renderCalicoUpgradeCheck(wanted)), { "/etc/kubernetes/admin.conf": "admin.conf" });
        return { status: result.status, output: (result.stdout + result.stderr).trim() };
    };

    test("no Calico yet, or the same release: nothing to say", () => {
        expect(check("", "3.31.0")).toEqual({ status: 0, output: "" });
        expect(check("quay.io/calico/node:v3.31.0", "3.31.0")).toEqual({ status: 0, output: "" });
    });

    test("a later patch, or one or two minors up: allowed", () => {
        expect(check("docker.io/calico/node:v3.31.0", "3.31.2")).toEqual({ status: 0, output: "upgrading Calico from 3.31.0 to 3.31.2" });
        expect(check("docker.io/calico/node:v3.29.4", "3.31.0")).toEqual({ status: 0, output: "upgrading Calico from 3.29.4 to 3.31.0" });
    });

    test("three minors up, or a downgrade: refused naming calico.version, the running release and what is allowed", () => {
        expect(check("docker.io/calico/node:v3.28.2", "3.31.0")).toEqual({
            status: 1,
            output: "calico.version 3.31.0 is more than 2 minor releases above the running Calico 3.28.2; Calico upgrades from the 2 previous minor releases only: set calico.version to 3.30.x or earlier first",
        });
        expect(check("docker.io/calico/node:v3.31.0", "3.30.3")).toEqual({
            status: 1,
            output: "calico.version 3.30.3 is older than the running Calico 3.31.0; Calico cannot be downgraded: set calico.version to 3.31.0 or later",
        });
    });

    test("both install methods check before anything of Calico is applied", () => {
        const bundle = renderApplyBundleScript(upstream);
        expect(bundle.indexOf("Calico moves in place")).toBeGreaterThan(bundle.indexOf("is already applied"));
        expect(bundle.indexOf("Calico moves in place")).toBeLessThan(bundle.indexOf("kc apply"));
        const manifest = renderManifestApplyScript(vxlan);
        expect(manifest.indexOf("Calico moves in place")).toBeGreaterThan(0);
        expect(manifest.indexOf("Calico moves in place")).toBeLessThan(manifest.indexOf("kc apply"));
    });
});
