import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { installMocks, promiseOf, registered, resetRegistered, settle } from "./helpers/mocks";
import { dependencyNamesOf, recordDependencies } from "./helpers/deps";
import { expectGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import {
    calicoBundle, CalicoSpec, renderCalicoResources, renderCalicoResourcesYaml, renderWaitScript, upstreamManifestUrl, validateCalicoSpec,
} from "../components/calico/render";
import { bundleFiles, bundleFingerprint, renderApplyBundleScript, renderDeleteBundleScript } from "../components/manifests";

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
        expectGolden(`calico/${file}`, scripts[file]);
        expectShellcheckClean(`calico-${file}`, scripts[file]);
    });

    test("resources match their goldens", () => {
        expectGolden("calico/resources-ipip.yaml", renderCalicoResourcesYaml(renderCalicoResources(spec)));
        expectGolden("calico/resources-vxlan-wireguard.yaml", renderCalicoResourcesYaml(renderCalicoResources({ ...spec, encapsulation: "VXLANCrossSubnet", natOutgoing: false, mtu: 1400, wireguard: true })));
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
        expect(() => bundleFiles({ url: "http://x", path: localFile }, "unused", ["a.yaml"], true)).toThrow(/not both/);
        expect(() => bundleFiles({ path: path.join(localDir, "missing.yaml") }, "unused", ["a.yaml"], true)).toThrow(/does not exist/);
    });

    test("a block larger than the pod network is refused", () => {
        expect(() => validateCalicoSpec({ ...spec, podCidr: "172.16.0.0/27", blockSize: 26 })).toThrow(/blockSize/);
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
        network = new CalicoNetwork("calico", { ...spec, wireguard: true, manifests: {}, kubeconfig: "apiVersion: v1\nkind: Config\n", adminNode: ssh });
        new CalicoNetwork("calico-airgapped", { ...spec, manifests: { path: localFile }, kubeconfig: "kubeconfig", adminNode: ssh });
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
