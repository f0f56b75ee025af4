// Certificate renewal: when it is due, the rendered script (golden, shellcheck), and what the
// script does on a control plane, run with bash against stand-ins for kubeadm, pgrep, ps and curl
// (a kubelet that stops a static pod when its manifest goes and starts it when it comes back).
import * as fs from "fs";
import * as path from "path";
import { certificatesDue, CONTROL_PLANE_COMPONENTS, earliestExpiry, renderCertificateRenewalScript } from "../components/kubeadm/certificates";
import { expectScriptGolden } from "./helpers/golden";
import { standIns, StandIns } from "./helpers/standins";

const DAY = 86_400;
const NOW = new Date("2027-06-01T00:00:00Z");

describe("when certificates are due", () => {
    test("a control plane is due once its served certificate has fewer than renewBeforeDays days left; one not read is not", () => {
        const served = {
            "cp-1": "2027-08-29T00:00:00.000Z", // 89 days left
            "cp-2": "2027-08-31T00:00:00.000Z", // 91 days left
            "cp-3": "2027-05-01T00:00:00.000Z", // expired
        };
        expect(certificatesDue(served, 90, NOW)).toEqual(["cp-1", "cp-3"]);
        expect(certificatesDue(served, 30, NOW)).toEqual(["cp-3"]);
        expect(certificatesDue({}, 90, NOW)).toEqual([]);
    });

    test("the earliest expiry is taken from what the steps printed, ignoring what is not a date", () => {
        expect(earliestExpiry(["2028-01-02T00:00:00Z\n", "2027-12-31T10:00:00Z", "", "not a date"])).toBe("2027-12-31T10:00:00Z");
        expect(earliestExpiry(["", ""])).toBe("");
    });
});

describe("the renewal script", () => {
    test("matches its golden and is shellcheck clean", () => {
        expectScriptGolden("certificates.sh", renderCertificateRenewalScript({ hostname: "home-server-1", renewBeforeDays: 90 }));
    });

    let lab: StandIns;
    let k8s: string;
    const listedAt = Date.now();
    const at = (seconds: number) => new Date(listedAt + seconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    // kubeadm certs check-expiration prints its own lines before the list, as the real one does
    const certificates = (left: number) => ["apiserver", "apiserver-kubelet-client", "etcd-server", "admin.conf"]
        .map((name, index) => `${name} false false ${left + index * 60} ${at(left + index * 60)}`).concat(["super-admin.conf true false  "]).join("\n") + "\n";

    beforeEach(() => {
        lab = standIns({
            kubeadm: `case "$1 $2 $3" in
  "certs check-expiration -o") echo "[check-expiration] Reading configuration from the cluster..."; cat "$STANDINS/certs" ;;
  "certs renew all") echo renew >> "$STANDINS/calls"; cp "$STANDINS/renewed" "$STANDINS/certs"
    for file in pki/etcd/server.crt pki/apiserver.crt controller-manager.conf scheduler.conf; do touch "$STANDINS/k8s/$file"; done ;;
  *) echo "unexpected kubeadm $*" >&2; exit 2 ;;
esac`,
            // a component runs while its manifest is in place; it started when its run file was written
            pgrep: `pattern="\${@: -1}"; name=\${pattern#^}; name=\${name%%(*}
if [ -e "$STANDINS/k8s/manifests/$name.yaml" ]; then
  [ -e "$STANDINS/run/$name" ] || { touch "$STANDINS/run/$name"; echo "start $name" >> "$STANDINS/calls"; }
  echo "$name"
else
  [ -e "$STANDINS/run/$name" ] && { rm "$STANDINS/run/$name"; echo "stop $name" >> "$STANDINS/calls"; }
  exit 1
fi`,
            ps: `echo $(( $(date +%s) - $(stat -c %Y "$STANDINS/run/\${@: -1}") ))`,
            curl: "exit 0",
            sleep: "exit 0",
        });
        k8s = path.join(lab.dir, "k8s");
        fs.mkdirSync(path.join(k8s, "pki", "etcd"), { recursive: true });
        fs.mkdirSync(path.join(k8s, "manifests"));
        fs.mkdirSync(path.join(lab.dir, "run"));
        // the files were written two hours ago, the pods started an hour ago
        const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);
        for (const { name, loads } of CONTROL_PLANE_COMPONENTS) {
            fs.writeFileSync(path.join(k8s, loads), "");
            fs.utimesSync(path.join(k8s, loads), hoursAgo(2), hoursAgo(2));
            fs.writeFileSync(path.join(k8s, "manifests", `${name}.yaml`), "");
            fs.writeFileSync(path.join(lab.dir, "run", name), "");
            fs.utimesSync(path.join(lab.dir, "run", name), hoursAgo(1), hoursAgo(1));
        }
        fs.writeFileSync(path.join(lab.dir, "calls"), "");
    });
    afterEach(() => lab.cleanup());

    const renewal = (renewBeforeDays: number) => lab.run(renderCertificateRenewalScript({ hostname: "cp-1", renewBeforeDays, kubernetesDir: k8s }));
    const calls = () => fs.readFileSync(path.join(lab.dir, "calls"), "utf8").trim().split("\n").filter((line) => line !== "");
    const manifests = () => fs.readdirSync(path.join(k8s, "manifests")).sort();

    test("not due: nothing is renewed or restarted, and stdout is the first expiry", () => {
        fs.writeFileSync(path.join(lab.dir, "certs"), certificates(200 * DAY));
        const result = renewal(90);
        expect(result.stderr).toContain("every certificate kubeadm manages here has more than 90 days left (the first to expire: apiserver");
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(`${at(200 * DAY)}\n`);
        expect(calls()).toEqual([]);
    });

    test("due: every certificate renewed, each control-plane pod stopped and started again, the manifests back in place", () => {
        fs.writeFileSync(path.join(lab.dir, "certs"), certificates(30 * DAY));
        fs.writeFileSync(path.join(lab.dir, "renewed"), certificates(365 * DAY));
        const before = manifests();
        const result = renewal(90);
        expect(result.stderr).toContain("apiserver expires");
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(`${at(365 * DAY)}\n`);
        const names = CONTROL_PLANE_COMPONENTS.map(({ name }) => name);
        expect(calls()).toEqual(["renew", ...names.map((name) => `stop ${name}`), ...names.map((name) => `start ${name}`)]);
        expect(manifests()).toEqual(before);
        expect(fs.existsSync(path.join(k8s, "homelab-held-manifests"))).toBe(false);
        // a second run finds nothing to do: done means renewed and running with the renewed files
        fs.writeFileSync(path.join(lab.dir, "calls"), "");
        expect(renewal(90).status).toBe(0);
        expect(calls()).toEqual([]);
    });

    test("a renewal that leaves the certificates still due is refused, naming the config key", () => {
        fs.writeFileSync(path.join(lab.dir, "certs"), certificates(30 * DAY));
        fs.writeFileSync(path.join(lab.dir, "renewed"), certificates(80 * DAY));
        const result = renewal(90);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("kubernetes.certificates.renewBeforeDays (90)");
    });

    test("a run cut short while the manifests were held away puts them back first, and the pods start", () => {
        fs.writeFileSync(path.join(lab.dir, "certs"), certificates(200 * DAY));
        const held = path.join(k8s, "homelab-held-manifests");
        fs.mkdirSync(held);
        for (const name of ["kube-apiserver", "etcd"]) {
            fs.renameSync(path.join(k8s, "manifests", `${name}.yaml`), path.join(held, `${name}.yaml`));
            fs.rmSync(path.join(lab.dir, "run", name));
        }
        const result = renewal(90);
        expect(result.stderr).toContain("kube-apiserver.yaml put back");
        expect(result.status).toBe(0);
        expect(manifests()).toEqual(CONTROL_PLANE_COMPONENTS.map(({ name }) => `${name}.yaml`).sort());
        expect(fs.existsSync(held)).toBe(false);
        expect(calls()).toEqual(["start etcd", "start kube-apiserver"]);
    });

    test("a node where kubeadm manages no certificate fails with the reason", () => {
        fs.writeFileSync(path.join(lab.dir, "certs"), "");
        const result = renewal(90);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("kubeadm lists no certificate it manages here");
    });
});

describe("reading when a served certificate expires (no login, nothing trusted)", () => {
    const { servedCertificateExpiry } = require("../stacks/observe") as typeof import("../stacks/observe");

    test("the expiry of the certificate a TLS server presents, self-signed and unverified; undefined where nothing answers", async () => {
        const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "homelab-tls-"));
        const { execSync } = require("child_process") as typeof import("child_process");
        const tls = require("tls") as typeof import("tls");
        try {
            execSync(`openssl req -x509 -newkey rsa:2048 -nodes -keyout ${dir}/key.pem -out ${dir}/cert.pem -days 42 -subj /CN=kube-apiserver 2>/dev/null`);
            const expected = new Date(execSync(`openssl x509 -enddate -noout -in ${dir}/cert.pem`, { encoding: "utf8" }).trim().replace(/^notAfter=/, "")).toISOString();
            const server = tls.createServer({ key: fs.readFileSync(`${dir}/key.pem`), cert: fs.readFileSync(`${dir}/cert.pem`) }, (socket) => socket.end());
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            const port = (server.address() as import("net").AddressInfo).port;
            try {
                expect(await servedCertificateExpiry("127.0.0.1", port, 3000)).toBe(expected);
            } finally {
                await new Promise((resolve) => server.close(resolve));
            }
            expect(await servedCertificateExpiry("127.0.0.1", port, 3000)).toBeUndefined();
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
