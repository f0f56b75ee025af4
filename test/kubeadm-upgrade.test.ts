// kubernetes.version against the versions the control planes run: the skew rules, the messages
// under the config key, and how the running version is read (an HTTPS server's /version, no login).
import { execSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { versionChangeProblems } from "../components/kubeadm/upgrade";
import { formatProblems } from "../stacks/config";
import { servedVersion } from "../stacks/observe";
import { kubernetesVersionChange } from "../stacks/rules/kubernetes";

const three = (version: string) => ({ "lab-1": version, "lab-2": version, "lab-3": version });

describe("a new kubernetes.version against the running control planes", () => {
    test("the running version, or nothing seen running (a new cluster, or every machine off): no problem", () => {
        expect(versionChangeProblems(three("v1.37.2"), "1.37.2")).toEqual([]);
        expect(versionChangeProblems(three("v1.37.2"), "v1.37.2")).toEqual([]);
        expect(versionChangeProblems({}, "1.39.0")).toEqual([]);
    });

    test("a downgrade is refused, naming the running version, where it runs, and what would be allowed", () => {
        expect(versionChangeProblems(three("v1.37.2"), "1.36.5")).toEqual([{
            arg: "version", value: "1.36.5",
            message: "is older than the running 1.37.2 (on lab-1, lab-2, lab-3); Kubernetes cannot be downgraded: expected 1.37.2, a later patch of 1.37, or 1.38.x",
        }]);
        expect(versionChangeProblems(three("v1.37.2"), "1.37.1")[0].message).toMatch(/^is older than the running 1\.37\.2/);
    });

    test("two minors at once are refused, from the lowest version running", () => {
        expect(versionChangeProblems({ "lab-1": "v1.38.0", "lab-2": "v1.37.2", "lab-3": "v1.37.2" }, "1.39.0")).toEqual([{
            arg: "version", value: "1.39.0",
            message: "is more than one minor above the running 1.37.2 (on lab-2, lab-3); Kubernetes upgrades one minor at a time: expected a patch of 1.37 or 1.38.x first",
        }]);
        expect(versionChangeProblems(three("v1.37.2"), "2.0.0")).toHaveLength(1);
    });

    test("an upgrade the rolling upgrade can do (a patch, the next minor, the rest of one that stopped half-way) is no problem", () => {
        expect(versionChangeProblems(three("v1.37.2"), "1.37.3")).toEqual([]);
        expect(versionChangeProblems(three("v1.37.2"), "1.38.0")).toEqual([]);
        expect(versionChangeProblems({ "lab-1": "v1.38.0", "lab-2": "v1.37.2", "lab-3": "v1.37.2" }, "1.38.0")).toEqual([]);
        // stopped half-way, going back is still a downgrade of the first control plane
        expect(versionChangeProblems({ "lab-1": "v1.38.0", "lab-2": "v1.37.2", "lab-3": "v1.37.2" }, "1.37.2")[0].message).toMatch(/^is older than the running 1\.38\.0 \(on lab-1\)/);
    });

    test("reported under kubernetes.version, as every config problem is; nothing with Kubernetes off", () => {
        const problems = kubernetesVersionChange({ kubernetes: { enabled: true, version: "1.39.0" } } as any, three("v1.37.2"));
        expect(formatProblems(problems)).toBe([
            "stack config has 1 problem; nothing was changed:",
            '  - homelab:kubernetes.version: "1.39.0" is more than one minor above the running 1.37.2 (on lab-1, lab-2, lab-3); Kubernetes upgrades one minor at a time: expected a patch of 1.37 or 1.38.x first',
        ].join("\n"));
        expect(kubernetesVersionChange({ kubernetes: { enabled: false, version: "1.39.0" } } as any, three("v1.37.2"))).toEqual([]);
    });
});

describe("reading the version an API server runs (/version, no login, nothing trusted)", () => {
    test("the gitVersion of a self-signed HTTPS server's /version; undefined for anything else or where nothing answers", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-version-"));
        try {
            execSync(`openssl req -x509 -newkey rsa:2048 -nodes -keyout ${dir}/key.pem -out ${dir}/cert.pem -days 1 -subj /CN=kube-apiserver 2>/dev/null`);
            let body = JSON.stringify({ major: "1", minor: "37", gitVersion: "v1.37.2", platform: "linux/amd64" });
            const server = https.createServer({ key: fs.readFileSync(`${dir}/key.pem`), cert: fs.readFileSync(`${dir}/cert.pem`) }, (request, response) => {
                response.writeHead(request.url === "/version" ? 200 : 404, { "content-type": "application/json" });
                response.end(body);
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            const port = (server.address() as import("net").AddressInfo).port;
            try {
                expect(await servedVersion("127.0.0.1", port, 3000)).toBe("v1.37.2");
                body = "<html>not an API server</html>";
                expect(await servedVersion("127.0.0.1", port, 3000)).toBeUndefined();
            } finally {
                await new Promise((resolve) => server.close(resolve));
            }
            expect(await servedVersion("127.0.0.1", port, 3000)).toBeUndefined();
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
