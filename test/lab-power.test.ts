// LabPower: its scripts (golden, shellcheck), when it plans to run (a wanted state that changed, or
// a lab seen otherwise), and its routine run for real against fake machines on loopback: SSH ports
// that answer until the stand-in ssh is told to shut them down, so the order and the refusals are seen.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { installMocks, registered, resetRegistered, settle } from "./helpers/mocks";
import { expectGolden } from "./helpers/golden";
import { expectShellcheckClean } from "./helpers/shellcheck";
import { FakeMachine } from "./helpers/fake-machine";
import { runRoutine } from "./helpers/routine";
import { standIns, StandIns } from "./helpers/standins";
import { renderClusterWaitScript, renderNooutUnsetScript, renderShutdownPreflightScript, renderVipHolderScript } from "../components/power/render";

installMocks();
const { LabPower, powerMismatch } = require("../components/power") as typeof import("../components/power");

describe("LabPower's scripts", () => {
    const scripts: Record<string, string> = {
        "preflight.sh": renderShutdownPreflightScript({ storage: true, ignoreCephHealth: false }),
        "preflight-ignore-health.sh": renderShutdownPreflightScript({ storage: true, ignoreCephHealth: true }),
        "vip-holder.sh": renderVipHolderScript(),
        "cluster-wait.sh": renderClusterWaitScript({ timeoutSeconds: 600 }),
        "noout-unset.sh": renderNooutUnsetScript(600),
    };
    test.each(Object.keys(scripts))("%s matches its golden and passes shellcheck", (file) => {
        expectGolden(file, scripts[file]);
        expectShellcheckClean(`lab-power-${file}`, scripts[file]);
    });

    test("the preflight sets noout only, never pause or nodown", () => {
        expect(scripts["preflight.sh"]).toContain("ceph_ osd set noout");
        expect(scripts["preflight.sh"]).not.toMatch(/osd set (pause|nodown)/);
        expect(scripts["preflight.sh"]).toContain("exit 3");
        expect(scripts["preflight-ignore-health.sh"]).not.toContain("exit 3");
    });
});

describe("the cold start's traps, said by name", () => {
    let box: StandIns;
    beforeEach(() => {
        box = standIns({ kubectl: `echo "kubectl $*" >> "$STANDINS/calls"; exit 1`, "corosync-quorumtool": `echo "corosync-quorumtool $*" >> "$STANDINS/calls"; exit 1` });
        fs.mkdirSync(path.join(box.dir, "kubernetes", "pki", "etcd"), { recursive: true });
    });
    afterEach(() => box.cleanup());

    /** A certificate made by openssl ca, valid from `start` to `end` (YYYYMMDDHHMMSSZ). */
    function certificate(file: string, start: string, end: string): void {
        const dir = fs.mkdtempSync(path.join(box.dir, "ca-"));
        fs.writeFileSync(path.join(dir, "ca.cnf"), "[ca]\ndefault_ca=d\n[d]\ndir=.\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n");
        fs.writeFileSync(path.join(dir, "index.txt"), "");
        fs.writeFileSync(path.join(dir, "serial"), "01\n");
        const run = (command: string) => { const r = spawnSync("bash", ["-c", command], { cwd: dir, encoding: "utf8" }); if (r.status !== 0) throw new Error(r.stderr); };
        run("openssl req -new -newkey rsa:2048 -nodes -keyout k -subj /CN=kubernetes -out c.csr");
        run(`openssl ca -batch -config ca.cnf -selfsign -keyfile k -in c.csr -startdate ${start} -enddate ${end} -out ${file}`);
    }

    test("a certificate that expired while the lab was off stops the wait at once, named with its date; nothing else is tried", () => {
        certificate(path.join(box.dir, "kubernetes", "pki", "ca.crt"), "20200101000000Z", "20300101000000Z");
        certificate(path.join(box.dir, "kubernetes", "pki", "apiserver.crt"), "20200101000000Z", "20210101000000Z");
        const result = box.run(renderClusterWaitScript({ timeoutSeconds: 5 }), { "/etc/kubernetes": "kubernetes" });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`${path.join(box.dir, "kubernetes", "pki", "apiserver.crt")} expired on Jan  1 00:00:00 2021 GMT`);
        expect(result.stderr).not.toContain("ca.crt");
        expect(result.stderr).toContain("kubeadm certs renew all");
        expect(fs.existsSync(path.join(box.dir, "calls"))).toBe(false);
    });

    test("without corosync's quorum the wait ends, bounded, saying so", () => {
        certificate(path.join(box.dir, "kubernetes", "pki", "ca.crt"), "20200101000000Z", "20300101000000Z");
        const result = box.run(renderClusterWaitScript({ timeoutSeconds: 1 }), { "/etc/kubernetes": "kubernetes" });
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("corosync has no quorum 1 s after the power-on, so the VIP cannot be placed");
    });
});

describe("after a power-on, the pods the shutdown ended", () => {
    let box: StandIns;
    beforeEach(() => {
        box = standIns({
            "corosync-quorumtool": `echo "Quorate:          Yes"`,
            kubectl: `echo "kubectl $*" >> "$STANDINS/calls"
case "$*" in
  *"get --raw /readyz?verbose"*) echo "[+]etcd ok" ;;
  *"get pods --all-namespaces --field-selector status.phase=Failed"*)
    printf '%s\\n' "rook-ceph   rook-ceph-mon-c-7d9f-abcde   ReplicaSet" "homelab-power-e2e   user   <none>" "batch   backup-29001-xyz   Job" "rook-ceph   rook-ceph-operator-5f-qwert   ReplicaSet" ;;
esac
exit 0`,
        });
        fs.mkdirSync(path.join(box.dir, "kubernetes"), { recursive: true });
    });
    afterEach(() => box.cleanup());

    test("of ReplicaSets are deleted once the API answers (Rook counted them as second mons); a bare pod's and a Job's are left", () => {
        const result = box.run(renderClusterWaitScript({ timeoutSeconds: 30 }), { "/etc/kubernetes": "kubernetes" });
        expect(result.stderr).toBe("");
        expect(result.status).toBe(0);
        const deletes = fs.readFileSync(path.join(box.dir, "calls"), "utf8").split("\n").filter((line) => line.includes(" delete "));
        expect(deletes).toEqual([
            expect.stringContaining("-n rook-ceph delete pod rook-ceph-mon-c-7d9f-abcde --ignore-not-found"),
            expect.stringContaining("-n rook-ceph delete pod rook-ceph-operator-5f-qwert --ignore-not-found"),
        ]);
        expect(result.stdout).toContain("deleted rook-ceph/rook-ceph-mon-c-7d9f-abcde: ended by the shutdown, replaced by its ReplicaSet");
        expect(result.stdout).toContain("every node is Ready");
    });
});

describe("when the routine is planned", () => {
    const node = (name: string, role: "control-plane" | "worker" = "control-plane") => ({ name, host: "10.0.0.1", port: 22, mac: "00:1e:06:1a:1b:1c", role, hostKey: "ssh-ed25519 AAAA" });
    const base = {
        nodes: [node("n1"), node("n2")], user: "homeuser", privateKey: "k", wakeOnLan: { broadcast: "10.0.0.255", port: 9, timeoutSeconds: 60 },
        kubernetes: true, ignoreCephHealth: false, vip: true,
    };
    beforeEach(resetRegistered);

    test("a lab seen as wanted plans nothing: its triggers are left out of the diff", async () => {
        expect(powerMismatch("on", { n1: "on", n2: "on" })).toEqual([]);
        new LabPower("steady", { ...base, state: "on", seen: { n1: "on", n2: "on" } });
        await settle();
        const routine = registered.find((r) => r.name === "steady-routine")!;
        expect(routine.ignoreChanges).toEqual(["triggers"]);
        expect(routine.inputs.triggers).toEqual(["on"]);
        expect(routine.inputs.update).toBe("true");
    });

    test("a power cut (a node seen off while wanted on), or a node on while wanted off, makes the triggers differ", async () => {
        expect(powerMismatch("on", { n1: "on", n2: "off" })).toEqual(["n2"]);
        expect(powerMismatch("off", { n1: "on", n2: "off" })).toEqual(["n1"]);
        new LabPower("cut", { ...base, state: "on", seen: { n1: "on", n2: "off" } });
        new LabPower("off", { ...base, state: "off", seen: { n1: "on", n2: "on" } });
        await settle();
        const cut = registered.find((r) => r.name === "cut-routine")!;
        expect(cut.ignoreChanges).toEqual([]);
        expect(cut.inputs.triggers[1]).toMatch(/^n2 seen off at \d{4}-/);
        const off = registered.find((r) => r.name === "off-routine")!;
        expect(off.inputs.create).toMatch(/routine\.js off$/);
        expect(off.inputs.triggers[1]).toMatch(/^n1,n2 seen on at /);
    });
});

describe("the routine, against fake machines and a stand-in ssh", () => {
    let box: StandIns;
    let machines: FakeMachine[];
    let watcher: NodeJS.Timeout;

    beforeEach(async () => {
        // ssh: records "host script-kind", answers the VIP holder and the preflight as the test says, and
        // "shuts down" a machine by writing its port to a file the test watches
        box = standIns({
            ssh: `for last; do :; done
host=""; port=""
while [ $# -gt 0 ]; do case $1 in -p) port=$2; shift 2 ;; -i|-o) shift 2 ;; *@*) host=\${1#*@}; shift ;; *) shift ;; esac; done
script=$(cat)
case $script in
  *"crm_resource --resource kube-api-vip --locate"*) kind=vip-holder; cat "$STANDINS/holder" ;;
  *"osd set noout"*) kind=preflight; code=$(cat "$STANDINS/preflight-exit"); [ "$code" = 0 ] || echo "Ceph is not HEALTH_OK: HEALTH_WARN 1 osds down" >&2; echo "$port $kind" >> "$STANDINS/calls"; exit "$code" ;;
  *"shutdown -P now"*) kind=shutdown; echo "$port" >> "$STANDINS/off" ;;
  *"[+]etcd ok"*) kind=cluster-wait ;;
  *"osd unset noout"*) kind=noout-unset ;;
  *) kind=other ;;
esac
echo "$port $kind" >> "$STANDINS/calls"`,
        });
        fs.writeFileSync(path.join(box.dir, "holder"), "cp1\n");
        fs.writeFileSync(path.join(box.dir, "preflight-exit"), "0");
        machines = ["w1", "cp1", "cp2", "cp3"].map((name) => new FakeMachine(name));
        for (const machine of machines) await machine.on();
        watcher = setInterval(() => {
            const file = path.join(box.dir, "off");
            if (!fs.existsSync(file)) return;
            for (const port of fs.readFileSync(file, "utf8").split("\n").filter(Boolean)) machines.find((m) => String(m.port) === port)?.off();
        }, 100);
    });
    afterEach(() => {
        clearInterval(watcher);
        for (const machine of machines) machine.off();
        box.cleanup();
    });

    function plan(extra: Record<string, unknown> = {}) {
        return {
            user: "homeuser",
            nodes: machines.map((m) => ({ name: m.name, host: "127.0.0.1", port: m.port, mac: "00:1e:06:1a:1b:1c", role: m.name.startsWith("cp") ? "control-plane" : "worker", hostKey: "ssh-ed25519 AAAA" })),
            wakeOnLan: { broadcast: "127.255.255.255", port: 9, timeoutSeconds: 20 },
            scripts: {
                preflight: renderShutdownPreflightScript({ storage: true, ignoreCephHealth: false }),
                vipHolder: renderVipHolderScript(),
                shutdown: Object.fromEntries(machines.map((m) => [m.name, "shutdown -P now"])),
                clusterWait: renderClusterWaitScript({ timeoutSeconds: 60 }),
                nooutUnset: renderNooutUnsetScript(600),
            },
            ...extra,
        };
    }

    function routine(state: "on" | "off", planned = plan()) {
        return runRoutine("power", [state], { pathFirst: box.dir, env: { HOMELAB_POWER_PLAN: JSON.stringify(planned) } });
    }
    const calls = () => fs.readFileSync(path.join(box.dir, "calls"), "utf8").split("\n").filter(Boolean)
        .map((line) => { const [port, kind] = line.split(" "); return `${machines.find((m) => String(m.port) === port)?.name} ${kind}`; });

    test("off: Ceph checked and noout set first, then the worker, the control planes, the VIP's holder last; each waited for until its SSH is closed", async () => {
        const result = await routine("off");
        expect(result.stderr).not.toContain("failed");
        expect(result.code).toBe(0);
        expect(calls()).toEqual(["cp1 preflight", "cp1 vip-holder", "w1 shutdown", "cp2 shutdown", "cp3 shutdown", "cp1 shutdown"]);
        expect(machines.every((m) => !m.isOn)).toBe(true);
        expect(JSON.parse(result.stdout.trim())).toMatchObject({ state: "off" });
        expect(result.stderr).toContain("shutting down in this order: w1, cp2, cp3, cp1 (cp1 holds the VIP)");
    }, 60000);

    test("off: the VIP's holder too loaded to answer the first probe is still shut down, last (the power suite of 2026-12-07 left it running)", async () => {
        machines.find((m) => m.name === "cp1")!.answerLate(1);
        const result = await routine("off");
        expect(result.code).toBe(0);
        expect(calls()).toEqual(["cp1 preflight", "cp1 vip-holder", "w1 shutdown", "cp2 shutdown", "cp3 shutdown", "cp1 shutdown"]);
        expect(machines.every((m) => !m.isOn)).toBe(true);
    }, 60000);

    test("off: a machine whose sshd closes connections without a banner (it is stopping) counts as not answering; the routine goes on to the end (the power suite of 2026-12-07: it ended early, reporting success, and left the VIP's holder running)", async () => {
        const w1 = machines.find((m) => m.name === "w1")!;
        w1.shuttingDown();
        const result = await routine("off");
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout.trim())).toMatchObject({ state: "off" });
        expect(calls()).toEqual(["cp1 preflight", "cp1 vip-holder", "cp2 shutdown", "cp3 shutdown", "cp1 shutdown"]);
        expect(machines.filter((m) => m !== w1).every((m) => !m.isOn)).toBe(true);
    }, 60000);

    test("off is refused when Ceph is not HEALTH_OK: its health is said and nothing is shut down", async () => {
        fs.writeFileSync(path.join(box.dir, "preflight-exit"), "3");
        const result = await routine("off");
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("shutdown refused, nothing was shut down");
        expect(result.stderr).toContain("HEALTH_WARN 1 osds down");
        expect(calls()).toEqual(["cp1 preflight"]);
        expect(machines.every((m) => m.isOn)).toBe(true);
    }, 60000);

    test("off with every machine off already does nothing", async () => {
        for (const machine of machines) machine.off();
        const result = await routine("off");
        expect(result.code).toBe(0);
        expect(result.stderr).toContain("every machine is off already");
        expect(fs.existsSync(path.join(box.dir, "calls"))).toBe(false);
    }, 60000);

    test("on: every machine answering, then the wait for the cluster, then noout unset", async () => {
        const result = await routine("on");
        expect(result.code).toBe(0);
        expect(calls()).toEqual(["cp1 cluster-wait", "cp1 noout-unset"]);
        expect(JSON.parse(result.stdout.trim())).toMatchObject({ state: "on" });
    }, 60000);

    test("the key reaches ssh in a file only the user reads, gone when the routine ends; never in a command line", async () => {
        const recorder = standIns({ ssh: `echo "$*" >> "$STANDINS/argv"; for a; do case $a in */key) stat -c %a "$a" >> "$STANDINS/modes"; cat "$a" >> "$STANDINS/keys" ;; esac; done; cat > /dev/null` });
        const result = await runRoutine("power", ["on"], { pathFirst: recorder.dir, env: { HOMELAB_POWER_PLAN: JSON.stringify(plan({ scripts: { clusterWait: "true" } })) }, key: "SECRET-KEY-MATERIAL\n" });
        expect(result.code).toBe(0);
        expect(fs.readFileSync(path.join(recorder.dir, "argv"), "utf8")).not.toContain("SECRET-KEY-MATERIAL");
        expect(fs.readFileSync(path.join(recorder.dir, "keys"), "utf8")).toBe("SECRET-KEY-MATERIAL\n");
        expect(fs.readFileSync(path.join(recorder.dir, "modes"), "utf8").trim()).toBe("600");
        const keyFile = fs.readFileSync(path.join(recorder.dir, "argv"), "utf8").match(/-i (\S+)/)![1];
        expect(fs.existsSync(keyFile)).toBe(false);
        recorder.cleanup();
    }, 60000);
});

describe("noout after power-on, run by bash against a stand-in kubectl whose ceph answers late", () => {
    // ceph answers nothing (kubectl exec fails, exit 1) for the first `silent` calls, as after a cold start
    const ceph = standIns({
        kubectl: `n=$(cat "$STANDINS/count" 2>/dev/null || echo 0); echo $((n + 1)) > "$STANDINS/count"
if [ "$n" -lt "$(cat "$STANDINS/silent")" ]; then echo "error: unable to upgrade connection: container not found" >&2; exit 1; fi
case "$*" in
  *" osd dump") echo "epoch 60"; [ -f "$STANDINS/noout" ] && echo "flags noout,sortbitwise" || echo "flags sortbitwise" ;;
  *" config-key exists "*) [ -f "$STANDINS/marker" ] || exit 2 ;;
  *" config-key get "*) cat "$STANDINS/marker" ;;
  *" osd unset noout") rm -f "$STANDINS/noout"; echo unset >> "$STANDINS/calls" ;;
  *" config-key rm "*) rm -f "$STANDINS/marker" ;;
  *) echo "unexpected: kubectl $*" >&2; exit 2 ;;
esac`,
        date: `now=$(cat "$STANDINS/clock" 2>/dev/null || echo 1000); echo $((now + 5)) > "$STANDINS/clock"; echo "$now"`,
        sleep: "true",
    });
    afterAll(() => ceph.cleanup());
    const run = (state: { silent: number; noout: boolean; marker?: string }) => {
        for (const file of ["count", "clock", "noout", "marker", "calls"]) fs.rmSync(path.join(ceph.dir, file), { force: true });
        fs.writeFileSync(path.join(ceph.dir, "silent"), String(state.silent));
        if (state.noout) fs.writeFileSync(path.join(ceph.dir, "noout"), "");
        if (state.marker) fs.writeFileSync(path.join(ceph.dir, "marker"), state.marker);
        fs.writeFileSync(path.join(ceph.dir, "admin.conf"), "");
        const result = ceph.run(renderNooutUnsetScript(60), { "/etc/kubernetes/admin.conf": "admin.conf" });
        return { status: result.status, output: (result.stdout + result.stderr).trim(), nooutLeft: fs.existsSync(path.join(ceph.dir, "noout")) };
    };

    test("a Ceph that answers only after a while: noout set by the power-off is unset once it answers (not taken for 'not set')", () => {
        expect(run({ silent: 4, noout: true, marker: "2026-12-07T12:52:04Z" })).toEqual({ status: 0, output: "noout unset (set by the power-off at 2026-12-07T12:52:04Z)", nooutLeft: false });
    });

    test("noout the user set is left; no noout: nothing to do", () => {
        expect(run({ silent: 0, noout: true })).toEqual({ status: 0, output: "noout is set, but not by a power-off of this program: left as it is", nooutLeft: true });
        expect(run({ silent: 0, noout: false })).toEqual({ status: 0, output: "noout is not set", nooutLeft: false });
    });

    test("a Ceph that never answers within the bound: fails saying noout may still be set, and what to do", () => {
        const result = run({ silent: 1000, noout: true, marker: "2026-12-07T12:52:04Z" });
        expect(result.status).toBe(1);
        expect(result.output).toContain("Ceph did not answer within 60 s of the cluster's return, so noout, if a power-off set it, is still set: run pulumi up again, or ceph osd unset noout once Ceph answers");
        expect(result.nooutLeft).toBe(true);
    });
});
