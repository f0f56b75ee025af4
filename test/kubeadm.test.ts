import * as YAML from "yaml";
import { byName, installMocks, isSecretOutput, mockStdout, promiseOf, registered, settle } from "./helpers/mocks";
import { throwawayCa } from "./helpers/fixtures";
import { dependencyNamesOf, recordDependencies } from "./helpers/deps";
import { expectGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { caCertHashOf, clusterSpecProblems, ClusterSpec, renderInitConfig, renderJoinConfig, TOKEN_PLACEHOLDER } from "../components/kubeadm/config";
import { renderPackagesScript } from "../components/kubeadm/packages";
import {
    renderInitScript, renderJoinScript, renderJoinSecretsCleanupScript, renderKubeconfigScript, renderPrejoinScript,
} from "../components/kubeadm/render";
import { renderResetScript } from "../components/kubeadm/reset";

installMocks();
recordDependencies();
// Required after the mocks are in place, as the house rule for component modules says.
const { KubeadmCluster } = require("../components/kubeadm") as typeof import("../components/kubeadm");

const CA_HASH = `sha256:${"ab".repeat(32)}`;
// What the mocks return for a RandomPassword: "a" * length.
const MOCK_TOKEN = "aaaaaa.aaaaaaaaaaaaaaaa";
const MOCK_TOKEN_SECRET = "a".repeat(16);
const MOCK_CERTIFICATE_KEY = "a".repeat(64);
const CA = throwawayCa();
// How the mock engine receives a secret input: wrapped with Pulumi's secret signature.
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const isSecretValue = (value: any) => value?.[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270";
const secretValue = (value: any) => (isSecretValue(value) ? value.value : undefined);

const spec: ClusterSpec = {
    clusterName: "home",
    version: "1.34.2",
    podCidr: "172.16.0.0/16",
    serviceCidr: "10.96.0.0/12",
    dnsDomain: "cluster.local",
    controlPlaneEndpoint: { address: "10.0.0.100", port: 6443 },
    nodes: [
        { hostname: "home-server-1", internalAddress: "10.0.0.101", role: "control-plane" },
        { hostname: "home-server-2", internalAddress: "10.0.0.102", role: "control-plane" },
        { hostname: "home-server-3", internalAddress: "10.0.0.103", role: "control-plane" },
        { hostname: "home-server-4", internalAddress: "10.0.0.104", role: "worker" },
    ],
    scheduleOnControlPlanes: true,
    allowCgroupV1: false,
    imagesPreloaded: false,
    kubeProxySetsConntrackLimit: true,
};
const airGapped: ClusterSpec = { ...spec, allowCgroupV1: true, imagesPreloaded: true, kubeProxySetsConntrackLimit: false };
const MIRROR = "http://10.0.0.1:8480/kubernetes-v1.34.2";
const [cp1, cp2, , worker] = spec.nodes;

const scripts: Record<string, string> = {
    "packages.sh": renderPackagesScript({ source: "upstream" }, "1.34.2", "home-server-1"),
    "packages-mirror.sh": renderPackagesScript({ source: "mirror", url: MIRROR }, "1.34.2", "home-server-1"),
    "init-air-gapped.sh": renderInitScript(airGapped, cp1),
    "join-control-plane-air-gapped.sh": renderJoinScript(airGapped, cp2, CA_HASH),
    "init.sh": renderInitScript(spec, cp1),
    "init-tainted.sh": renderInitScript({ ...spec, scheduleOnControlPlanes: false }, cp1),
    "prejoin.sh": renderPrejoinScript(spec, cp1),
    "join-secrets-cleanup.sh": renderJoinSecretsCleanupScript(renderPrejoinScript(spec, cp1)),
    "join-control-plane.sh": renderJoinScript(spec, cp2, CA_HASH),
    "join-worker.sh": renderJoinScript(spec, worker, CA_HASH),
    "kubeconfig.sh": renderKubeconfigScript(spec),
    "reset-control-plane.sh": renderResetScript(cp1),
    "reset-worker.sh": renderResetScript(worker),
};

describe("kubeadm renderers", () => {
    test.each(Object.keys(scripts))("%s matches its golden and passes shellcheck", (file) => {
        expectGolden(`${file}`, scripts[file]);
        expectShellcheckClean(`kubeadm-${file}`, scripts[file]);
    });

    test("config files match their goldens", () => {
        expectGolden("init.yaml", renderInitConfig(spec, cp1));
        expectGolden("join-control-plane.yaml", renderJoinConfig(spec, cp2, CA_HASH));
        expectGolden("join-worker.yaml", renderJoinConfig(spec, worker, CA_HASH));
        expectGolden("init-air-gapped.yaml", renderInitConfig(airGapped, cp1));
    });

    test("init config carries placeholders, the VIP and every control plane in the SANs", () => {
        const [init, cluster, kubelet] = YAML.parseAllDocuments(renderInitConfig(spec, cp1)).map((doc) => doc.toJS());
        expect(init.bootstrapTokens[0].token).toBe(TOKEN_PLACEHOLDER);
        expect(init.certificateKey).toMatch(/^__HOMELAB_/);
        expect(init.nodeRegistration.kubeletExtraArgs).toEqual([{ name: "node-ip", value: "10.0.0.101" }]);
        expect(init.nodeRegistration.taints).toEqual([]);
        expect(cluster.controlPlaneEndpoint).toBe("10.0.0.100:6443");
        expect(cluster.kubernetesVersion).toBe("v1.34.2");
        expect(cluster.apiServer.certSANs).toEqual(["10.0.0.100", "10.0.0.101", "10.0.0.102", "10.0.0.103", "home-server-1", "home-server-2", "home-server-3"]);
        expect(kubelet.cgroupDriver).toBe("systemd");
    });

    test("worker joins have no control-plane section and no taint override", () => {
        const join = YAML.parse(renderJoinConfig(spec, worker, CA_HASH));
        expect(join.controlPlane).toBeUndefined();
        expect(join.nodeRegistration.taints).toBeUndefined();
        expect(join.discovery.bootstrapToken).toEqual({ apiServerEndpoint: "10.0.0.100:6443", token: TOKEN_PLACEHOLDER, caCertHashes: [CA_HASH], unsafeSkipCAVerification: false });
    });

    test("the CA hash joins pin is the one openssl computes from the kubeconfig's CA, as kubeadm documents it", () => {
        expect(caCertHashOf(CA.kubeconfig)).toBe(CA.opensslHash);
        expect(caCertHashOf("")).toBe("");
    });

    test("packages are pinned to the patch version; a joined node at another version is left to its upgrade step (test/kubeadm-rolling-upgrade.test.ts runs it)", () => {
        const packages = scripts["packages.sh"];
        expect(packages).toContain(`versions+=("$pkg=$want-*")`);
        expect(packages).toContain("https://pkgs.k8s.io/core:/stable:/v1.34/deb/");
        expect(packages).toContain("its upgrade step moves it to v$want");
    });

    test("air-gapped: binaries and images come from the mirror, checked against its SHA256SUMS, and nothing is pulled", () => {
        const packages = scripts["packages-mirror.sh"];
        expect(packages).toContain(`mirror=${MIRROR}\n`);
        expect(packages).toContain(`"$mirror/SHA256SUMS"`);
        expect(packages).toContain("sha256sum -c --quiet");
        expect(packages).toContain("ctr -n k8s.io images import");
        expect(packages).toContain("ExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS");
        expect(packages).not.toContain("pkgs.k8s.io");
        // on a joined node at another version, only the new version's images, ahead of its upgrade
        expect(packages).toMatch(/the images of v1\.34\.2, ahead of this node's upgrade\n(.*\n)*.*its upgrade step moves it to v\$want/);
        for (const file of ["init-air-gapped.sh", "join-control-plane-air-gapped.sh"]) expect(scripts[file]).not.toContain("images pull");
        for (const file of ["init.sh", "join-control-plane.sh"]) expect(scripts[file]).toContain("images pull");
        const [init, , kubelet] = YAML.parseAllDocuments(renderInitConfig(airGapped, cp1)).map((doc) => doc.toJS());
        expect(init.nodeRegistration.imagePullPolicy).toBe("Never");
        expect(init.nodeRegistration.ignorePreflightErrors).toEqual(["SystemVerification"]);
        expect(kubelet.failCgroupV1).toBe(false);
        const documents = YAML.parseAllDocuments(renderInitConfig(airGapped, cp1)).map((doc) => doc.toJS());
        expect(documents[3]).toEqual({ apiVersion: "kubeproxy.config.k8s.io/v1alpha1", kind: "KubeProxyConfiguration", conntrack: { maxPerCore: 0 } });
        expect(YAML.parseAllDocuments(renderInitConfig(spec, cp1))).toHaveLength(3);
        const [plainInit, , plainKubelet] = YAML.parseAllDocuments(renderInitConfig(spec, cp1)).map((doc) => doc.toJS());
        expect(plainInit.nodeRegistration.imagePullPolicy).toBeUndefined();
        expect(plainInit.nodeRegistration.ignorePreflightErrors).toBeUndefined();
        expect(plainKubelet.failCgroupV1).toBeUndefined();
        expect(plainKubelet).not.toHaveProperty("evictionHard");
        const kubelet_ = { evictionHard: { "nodefs.available": "3%", "imagefs.available": "3%" }, imageGCHighThresholdPercent: 100 };
        const [, , tunedKubelet] = YAML.parseAllDocuments(renderInitConfig({ ...spec, kubelet: kubelet_ }, cp1)).map((doc) => doc.toJS());
        expect(tunedKubelet).toMatchObject({ kind: "KubeletConfiguration", cgroupDriver: "systemd", ...kubelet_ });
    });

    test("both sources set containerd's sandbox image to kubeadm's pause image", () => {
        for (const file of ["packages.sh", "packages-mirror.sh"]) expect(scripts[file]).toContain("kubeadm config images list --kubernetes-version v1.34.2");
    });

    test("a spec kubeadm cannot work with is refused with every problem, in the words the stack config's check uses", () => {
        expect(clusterSpecProblems(spec)).toEqual([]);
        expect(clusterSpecProblems({ ...spec, version: "1.34", nodes: [worker, worker] })).toEqual([
            { arg: "nodes", value: "2 nodes, 0 control planes", message: "has no control-plane node; give at least one node role control-plane" },
            { arg: "nodes", value: "home-server-4", message: "is listed twice; each node needs its own hostname" },
            { arg: "version", value: "1.34", message: "is not a valid version; expected MAJOR.MINOR.PATCH, like 1.34.2" },
        ]);
        expect(clusterSpecProblems({ ...spec, nodes: [cp1, cp2, worker] })).toEqual([{ arg: "nodes", value: "2 control planes", message: "is an even number of control planes; etcd needs a majority, so use 1, 3 or 5" }]);
    });

    test("the component raises them as one ResourceError before it creates anything", async () => {
        expect(() => new KubeadmCluster("bad", { ...spec, nodes: [cp1, cp2].map((node) => ({ ...node, ssh: { host: "h", port: 22, user: "u", privateKey: "k" } })), packages: { source: "upstream" } }))
            .toThrow('KubeadmCluster bad: nodes "2 control planes" is an even number of control planes; etcd needs a majority, so use 1, 3 or 5');
        await settle();
        expect(registered.filter((r) => r.name.startsWith("bad-"))).toEqual([]);
    });
});

describe("KubeadmCluster", () => {
    const ssh = (host: string) => ({ host, port: 22, user: "homeuser", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" });
    let cluster: InstanceType<typeof KubeadmCluster>;

    beforeAll(async () => {
        mockStdout.set("kubernetes-kubeconfig", CA.kubeconfig);
        mockStdout.set("kubernetes-admin-kubeconfig", CA.kubeconfig);
        mockStdout.set("kubernetes-home-server-2-certificates", "2027-07-01T00:00:00Z\n");
        mockStdout.set("kubernetes-home-server-3-certificates", "2028-06-01T00:00:00Z\n");
        cluster = new KubeadmCluster("kubernetes", {
            ...spec,
            nodes: spec.nodes.map((node, index) => ({ ...node, ssh: ssh(`192.168.10.${101 + index}`) })),
            packages: { source: "upstream" },
            // home-server-2's certificate is due (30 days left), home-server-1's is not, home-server-3 was not seen
            certificates: { renewBeforeDays: 90, served: { "home-server-1": "2028-06-01T00:00:00Z", "home-server-2": "2027-07-01T00:00:00Z" }, now: new Date("2027-06-01T00:00:00Z") },
        });
        await settle();
    });

    const commands = () => registered.filter((r) => r.type === "command:remote:Command");
    const named = (name: string) => {
        const found = registered.find((r) => r.name === name);
        if (!found) throw new Error(`${name} was not registered; registered: ${registered.map((r) => r.name).join(", ")}`);
        return found;
    };

    test("registers the component and its children under its name", () => {
        expect(named("kubernetes").type).toBe("homelab:index:KubeadmCluster");
        expect(named("kubernetes-token-id").inputs).toMatchObject({ length: 6, upper: false, special: false });
        expect(named("kubernetes-token-secret").inputs).toMatchObject({ length: 16, upper: false, special: false });
        expect(named("kubernetes-certificate-key").inputs).toMatchObject({ length: 64, lower: false, upper: false, numeric: true, special: true, overrideSpecial: "abcdef" });
        expect(commands().map((c) => c.name).sort()).toEqual([
            "kubernetes-home-server-2-admission", "kubernetes-home-server-3-admission", "kubernetes-home-server-4-admission",
            "kubernetes-home-server-1-packages", "kubernetes-home-server-2-join", "kubernetes-home-server-2-packages",
            "kubernetes-home-server-3-join", "kubernetes-home-server-3-packages", "kubernetes-home-server-4-join",
            "kubernetes-home-server-4-packages", "kubernetes-init", "kubernetes-join-secrets-cleanup", "kubernetes-kubeconfig", "kubernetes-prejoin",
            "kubernetes-home-server-1-certificates", "kubernetes-home-server-2-certificates", "kubernetes-home-server-3-certificates", "kubernetes-admin-kubeconfig",
        ].sort());
    });

    test("admission: each joining node's, on the init node after init (a control plane's after the one before it joined), before its join", () => {
        expect(dependencyNamesOf("kubernetes-home-server-2-admission")).toEqual(["kubernetes-init", "kubernetes-prejoin"]);
        expect(dependencyNamesOf("kubernetes-home-server-3-admission")).toEqual(["kubernetes-init", "kubernetes-home-server-2-join"]);
        expect(dependencyNamesOf("kubernetes-home-server-4-admission")).toEqual(["kubernetes-init"]);
        for (const host of ["home-server-2", "home-server-3", "home-server-4"]) expect(dependencyNamesOf(`kubernetes-${host}-join`)).toContain(`kubernetes-${host}-admission`);
        // a machine put in place of another changes the pre-join step's script, so it makes the token and keys again
        expect(named("kubernetes-prejoin").inputs.create).toContain("# for the joins of home-server-2 (machine unknown), home-server-3 (machine unknown), home-server-4 (machine unknown)");
    });

    test("certificates: checked on each control plane one at a time after it joined; renewed where due, the preview naming the expiry", () => {
        expect(dependencyNamesOf("kubernetes-home-server-1-certificates")).toEqual(["kubernetes-init"]);
        expect(dependencyNamesOf("kubernetes-home-server-2-certificates")).toEqual(["kubernetes-home-server-2-join", "kubernetes-home-server-1-certificates"]);
        expect(dependencyNamesOf("kubernetes-home-server-3-certificates")).toEqual(["kubernetes-home-server-3-join", "kubernetes-home-server-2-certificates"]);
        expect(registered.some((r) => r.name === "kubernetes-home-server-4-certificates")).toBe(false);
        // due: a new trigger replaces the step, so its script runs again
        expect(named("kubernetes-home-server-2-certificates").inputs.triggers).toEqual(["renew: the API server's certificate expires 2027-07-01T00:00:00Z"]);
        expect(named("kubernetes-home-server-2-certificates").ignoreChanges ?? []).toEqual([]);
        // not due, or not seen: "not due" never replaces the step that last renewed
        for (const host of ["home-server-1", "home-server-3"]) {
            expect(named(`kubernetes-${host}-certificates`).inputs.triggers).toEqual(["not due"]);
            expect(named(`kubernetes-${host}-certificates`).ignoreChanges).toEqual(["triggers"]);
        }
        // the admin kubeconfig handed on is read again after the init node's renewal only
        expect(dependencyNamesOf("kubernetes-admin-kubeconfig")).toEqual(["kubernetes-home-server-1-certificates"]);
        expect(named("kubernetes-admin-kubeconfig").inputs.triggers).toEqual(["not due"]);
        expect(named("kubernetes-admin-kubeconfig").ignoreChanges).toEqual(["connection", "triggers"]);
    });

    test("certificatesExpire is the first expiry the renewal steps found", async () => {
        expect(await promiseOf(cluster.certificatesExpire)).toBe("2027-07-01T00:00:00Z");
    });

    test("the kubeconfig is a secret and the outputs say where the API is", async () => {
        expect(await isSecretOutput(cluster.kubeconfig)).toBe(true);
        expect(await promiseOf(cluster.apiEndpoint)).toBe("https://10.0.0.100:6443");
        expect(await promiseOf(cluster.nodeNames)).toEqual(["home-server-1", "home-server-2", "home-server-3", "home-server-4"]);
        expect(named("kubernetes-kubeconfig").inputs.logging).toBe("stderr");
    });

    test("secrets travel on stdin only, as secrets, and workers never get the certificate key", () => {
        for (const c of commands()) {
            const { stdin, ...rest } = c.inputs;
            // a secret that flowed into create/delete/triggers would show up here, wrapped or not
            const visible = JSON.stringify(rest);
            for (const secret of [MOCK_TOKEN, MOCK_TOKEN_SECRET, MOCK_CERTIFICATE_KEY]) expect(visible).not.toContain(secret);
            expect(typeof c.inputs.create).toBe("string");
            if (stdin !== undefined) expect(isSecretValue(stdin)).toBe(true);
        }
        expect(secretValue(named("kubernetes-init").inputs.stdin)).toBe(`${MOCK_TOKEN}\n${MOCK_CERTIFICATE_KEY}\n`);
        expect(secretValue(named("kubernetes-prejoin").inputs.stdin)).toBe(`${MOCK_TOKEN}\n${MOCK_CERTIFICATE_KEY}\n`);
        expect(secretValue(named("kubernetes-home-server-2-join").inputs.stdin)).toBe(`${MOCK_TOKEN}\n${MOCK_CERTIFICATE_KEY}\n`);
        expect(secretValue(named("kubernetes-home-server-4-join").inputs.stdin)).toBe(`${MOCK_TOKEN}\n`);
    });

    test("generated secrets are RandomPasswords the program marks secret: the official provider keeps a RandomString's or RandomBytes' value in its plaintext ID", () => {
        for (const name of ["kubernetes-token-id", "kubernetes-token-secret", "kubernetes-certificate-key"]) {
            expect(named(name).type).toBe("random:index/randomPassword:RandomPassword");
            expect(byName(name).additionalSecretOutputs).toContain("result");
        }
        expect(registered.filter((r) => /randomString|randomBytes/.test(r.type))).toEqual([]);
    });

    test("joins pin the CA read from the kubeconfig, and the kubeconfig is read once: a new SSH key or address does not re-read it", () => {
        expect(named("kubernetes-home-server-2-join").inputs.create).toContain(CA.opensslHash);
        expect(named("kubernetes-kubeconfig").ignoreChanges).toEqual(["connection"]);
        expect(named("kubernetes-kubeconfig").additionalSecretOutputs).toContain("stdout");
        expect(dependencyNamesOf("kubernetes-home-server-2-join")).toContain("kubernetes-kubeconfig");
    });

    test("once every node has joined, the token and the uploaded certificates are deleted; again after each change of the joining nodes", () => {
        const cleanup = named("kubernetes-join-secrets-cleanup");
        expect(dependencyNamesOf("kubernetes-join-secrets-cleanup")).toEqual(expect.arrayContaining(["kubernetes-home-server-2-join", "kubernetes-home-server-3-join", "kubernetes-home-server-4-join"]));
        expect(cleanup.inputs.triggers).toEqual(["home-server-2", "home-server-3", "home-server-4"]);
        expect(secretValue(cleanup.inputs.stdin)).toBe(`${MOCK_TOKEN}\n`);
    });

    test("every node is reset on delete", () => {
        for (const host of ["home-server-1", "home-server-2", "home-server-3", "home-server-4"]) {
            expect(named(`kubernetes-${host}-packages`).inputs.delete).toContain("kubeadm reset -f");
        }
        expect(named("kubernetes-home-server-1-packages").inputs.delete).toContain("rm -rf /var/lib/etcd");
        expect(named("kubernetes-home-server-4-packages").inputs.delete).not.toContain("/var/lib/etcd");
    });

    test("control planes join one at a time and workers after the last of them", () => {
        expect(dependencyNamesOf("kubernetes-init")).toContain("kubernetes-home-server-1-packages");
        expect(dependencyNamesOf("kubernetes-prejoin")).toContain("kubernetes-init");
        expect(dependencyNamesOf("kubernetes-home-server-2-join")).toEqual(expect.arrayContaining(["kubernetes-prejoin", "kubernetes-home-server-2-packages"]));
        expect(dependencyNamesOf("kubernetes-home-server-3-join")).toEqual(expect.arrayContaining(["kubernetes-home-server-2-join", "kubernetes-home-server-3-packages"]));
        expect(dependencyNamesOf("kubernetes-home-server-4-join")).toContain("kubernetes-home-server-3-join");
        expect(dependencyNamesOf("kubernetes-home-server-2-join")).not.toContain("kubernetes-home-server-3-join");
    });

    test("the pre-join step runs again when the set of joining nodes changes", () => {
        expect(named("kubernetes-prejoin").inputs.triggers).toEqual(["home-server-2", "home-server-3", "home-server-4"]);
    });

    test("the ready handle covers every join and the kubeconfig", async () => {
        const names = await Promise.all(cluster.ready.map((r) => promiseOf(r.urn)));
        expect(names.map((urn) => urn.slice(urn.lastIndexOf("::") + 2)).sort()).toEqual([
            "kubernetes-home-server-2-join", "kubernetes-home-server-3-join", "kubernetes-home-server-4-join", "kubernetes-init", "kubernetes-join-secrets-cleanup", "kubernetes-kubeconfig",
            "kubernetes-home-server-1-certificates", "kubernetes-home-server-2-certificates", "kubernetes-home-server-3-certificates", "kubernetes-admin-kubeconfig",
        ].sort());
    });
});

describe("KubeadmCluster with another control plane listed first (the first one replaced, or moved after it)", () => {
    const ssh = (host: string) => ({ host, port: 22, user: "homeuser", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" });
    const [first, second, third, worker] = spec.nodes;

    beforeAll(async () => {
        mockStdout.set("reordered-kubeconfig", CA.kubeconfig);
        mockStdout.set("reordered-admin-kubeconfig", CA.kubeconfig);
        // home-server-1 keeps its address; only its place in the list changes
        const addressOf = (hostname: string) => `192.168.10.${101 + spec.nodes.findIndex((node) => node.hostname === hostname)}`;
        new KubeadmCluster("reordered", {
            ...spec,
            nodes: [second, third, first, worker].map((node) => ({ ...node, ssh: ssh(addressOf(node.hostname)) })),
            packages: { source: "upstream" },
        });
        await settle();
    });

    const stepOf = (name: string) => {
        const found = registered.find((r) => r.name === name);
        if (!found) throw new Error(`${name} was not registered`);
        return found;
    };
    // the connection holds the private key, so the whole of it is a secret
    const hostOf = (name: string) => (secretValue(stepOf(name).inputs.connection) as { host: string }).host;

    test("the cluster's own steps run on the control plane listed first; the one moved after it joins, admitted first, after the others", () => {
        for (const step of ["reordered-init", "reordered-kubeconfig", "reordered-prejoin", "reordered-home-server-1-admission", "reordered-join-secrets-cleanup", "reordered-admin-kubeconfig"]) {
            expect(hostOf(step)).toBe("192.168.10.102");
        }
        expect(stepOf("reordered-init").inputs.create).toContain("home-server-2 joined the cluster as a control plane and is the first listed now");
        expect(registered.some((r) => r.name === "reordered-home-server-2-join")).toBe(false);
        expect(hostOf("reordered-home-server-1-join")).toBe("192.168.10.101");
        expect(dependencyNamesOf("reordered-home-server-1-admission")).toEqual(["reordered-init", "reordered-home-server-3-join"]);
        expect(dependencyNamesOf("reordered-home-server-4-join")).toContain("reordered-home-server-1-join");
        // every step keeps its name: nothing but the connection and the order changes for the steps of the nodes that stay
        expect(stepOf("reordered-prejoin").inputs.triggers).toEqual(["home-server-3", "home-server-1", "home-server-4"]);
    });
});
