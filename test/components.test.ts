// Structure of the node, network and VIP components under Pulumi mocks:
// what each creates, in which order, with secrets kept secret and deletes present.
import * as pulumi from "@pulumi/pulumi";
import { byName, installMocks, isSecretOutput, mockStdout, promiseOf, registered, resetRegistered, secretValue, settle } from "./helpers/mocks";
import { SEED_HOSTS, THROWAWAY_KEY, VIP_SETTINGS, VLAN_NETWORK } from "./helpers/fixtures";

installMocks();

import { BareMetalNode } from "../components/baremetal";
import { PacemakerVip } from "../components/pacemaker";
import { VlanInterface } from "../components/vlan";

const ssh = (host: string) => ({ host, port: 22, user: "homeuser", privateKey: pulumi.secret(THROWAWAY_KEY) });

beforeEach(resetRegistered);

describe("BareMetalNode", () => {
    test("wakes, prepares, and powers off on delete, in that order", async () => {
        const node = new BareMetalNode("home-server-1", {
            hostname: "home-server-1",
            mac: "00:1e:06:1a:1b:1c",
            wakeOnLan: { broadcast: "192.168.10.255", port: 9, timeoutSeconds: 300 },
            ssh: ssh("192.168.10.101"),
            hosts: SEED_HOSTS,
            os: { containerRuntime: "containerd" },
        });
        await settle();
        expect(registered.map((r) => `${r.type} ${r.name}`)).toEqual([
            "homelab:index:BareMetalNode home-server-1",
            "command:local:Command home-server-1-power",
            "command:local:Command home-server-1-wake",
            "command:local:Command home-server-1-host-key",
            "command:remote:Command home-server-1-prepare",
            "command:remote:Command home-server-1-machine-identity",
            "command:remote:Command home-server-1-hosts",
            "command:remote:Command home-server-1-poweroff",
        ]);
        const power = byName("home-server-1-power");
        expect(power.inputs.create).toMatch(/^node \S*components\/baremetal\/power\.js wake$/);
        expect(power.inputs.delete).toMatch(/power\.js wait-off$/);
        expect(power.inputs.environment).toMatchObject({ HOMELAB_MAC: "00:1e:06:1a:1b:1c", HOMELAB_WOL_BROADCAST: "192.168.10.255", HOMELAB_SSH_HOST: "192.168.10.101" });
        expect(byName("home-server-1-host-key").dependsOn).toEqual(["home-server-1-power", "home-server-1-wake"]);
        expect(byName("home-server-1-host-key").inputs.create).toMatch(/power\.js host-key$/);
        expect(byName("home-server-1-host-key").inputs.addPreviousOutputInEnv).toBe(true);
        expect(byName("home-server-1-prepare").dependsOn).toEqual(["home-server-1-power", "home-server-1-wake"]);
        expect(byName("home-server-1-hosts").dependsOn).toEqual(["home-server-1-prepare"]);
        // which machine answers needs only SSH; the power-off step (deleted first) comes after it
        expect(byName("home-server-1-machine-identity").dependsOn).toEqual(["home-server-1-power", "home-server-1-wake"]);

        expect(byName("home-server-1-hosts").inputs.create).toContain(SEED_HOSTS[2].hostname);
        expect(byName("home-server-1-prepare").inputs.create).not.toContain(SEED_HOSTS[2].hostname);
        expect(byName("home-server-1-poweroff").dependsOn).toEqual(["home-server-1-hosts", "home-server-1-machine-identity"]);
        expect(byName("home-server-1-poweroff").inputs.delete).toContain("shutdown -P now");
        expect(byName("home-server-1-poweroff").inputs).toMatchObject({ create: "true", update: "true" });
        for (const child of registered.slice(1)) expect(child.parent).toBe("home-server-1");
        expect(await promiseOf(node.address)).toBe("192.168.10.101");
    });

    test("the wake is planned only to wake a node seen off while wanted on: a planned power-off or power-on leaves it out of the diff", async () => {
        const args = { mac: "00:1e:06:1a:1b:1c", wakeOnLan: { broadcast: "10.0.0.255", port: 9, timeoutSeconds: 5 }, hosts: SEED_HOSTS, os: { containerRuntime: "containerd" as const } };
        const seenAs = { steady: { state: "on", seen: "on" }, off: { state: "off", seen: "on" }, on: { state: "on", seen: "on" }, cut: { state: "on", seen: "off" } } as const;
        for (const [name, power] of Object.entries(seenAs)) new BareMetalNode(name, { ...args, hostname: "n", ssh: ssh("10.0.0.1"), power });
        await settle();
        const wake = (name: string) => byName(`${name}-wake`);
        // what the engine compares: every input but those ignored
        const compared = (name: string) => {
            const { inputs, ignoreChanges } = wake(name);
            return Object.fromEntries(Object.entries(inputs).filter(([key]) => !(ignoreChanges ?? []).includes(key)));
        };
        expect(compared("off")).toEqual(compared("steady"));
        expect(compared("on")).toEqual(compared("steady"));
        expect(wake("off").inputs.environment.HOMELAB_POWER).toBe("off");
        expect(wake("cut").ignoreChanges).toEqual([]);
        expect(wake("cut").inputs.triggers[0]).toMatch(/^seen off at \d{4}-/);
        expect(wake("cut").inputs.environment.HOMELAB_POWER).toBe("on");
    });

    test("every SSH step checks the host key recorded at first contact (the command provider checks only a key it is given), or the pinned one", async () => {
        mockStdout.set("tofu-host-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl");
        const args = { mac: "00:1e:06:1a:1b:1c", wakeOnLan: { broadcast: "10.0.0.255", port: 9, timeoutSeconds: 5 }, hosts: SEED_HOSTS, os: { containerRuntime: "containerd" as const } };
        new BareMetalNode("tofu", { ...args, hostname: "tofu", ssh: ssh("10.0.0.1") });
        const pinned = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedPinnedPinnedPinnedPinnedPinnedPinned";
        new BareMetalNode("pinned", { ...args, hostname: "pinned", ssh: { ...ssh("10.0.0.2"), hostKey: pinned } });
        await settle();
        for (const step of ["prepare", "hosts", "poweroff"]) {
            expect((secretValue(byName(`tofu-${step}`).inputs.connection) as { hostKey: string }).hostKey).toBe(mockStdout.get("tofu-host-key"));
            expect((secretValue(byName(`pinned-${step}`).inputs.connection) as { hostKey: string }).hostKey).toBe(pinned);
        }
        expect(registered.map((r) => r.name)).not.toContain("pinned-host-key");
    });

    test("the SSH key is a secret in every connection and never in a command", async () => {
        new BareMetalNode("n", {
            hostname: "n", mac: "00:1e:06:1a:1b:1c", wakeOnLan: { broadcast: "10.0.0.255", port: 9, timeoutSeconds: 5 },
            ssh: ssh("10.0.0.1"), hosts: SEED_HOSTS, os: { containerRuntime: "containerd" },
        });
        await settle();
        const remote = registered.filter((r) => r.type === "command:remote:Command");
        expect(remote).toHaveLength(4);
        for (const command of remote) {
            // A secret inside the connection makes the whole connection secret in state.
            expect((secretValue(command.inputs.connection) as { privateKey: string }).privateKey).toBe(THROWAWAY_KEY);
            expect(JSON.stringify([command.inputs.create, command.inputs.delete])).not.toContain("throwaway-test-key");
        }
    });
});

describe("VlanInterface", () => {
    test("one netplan command with apply and remove, after what it depends on", async () => {
        const before = new pulumi.ComponentResource("test:index:Marker", "awake", {});
        const vlan = new VlanInterface("home-server-1-internal", { ssh: ssh("192.168.10.101"), network: VLAN_NETWORK, after: [before] });
        await settle();
        const netplan = byName("home-server-1-internal-netplan");
        expect(netplan.dependsOn).toEqual(["awake"]);
        expect(netplan.parent).toBe("home-server-1-internal");
        expect(netplan.inputs.create).toContain("netplan apply");
        expect(netplan.inputs.delete).toContain("rm -f /etc/netplan/60-homelab-internal.yaml");
        expect(await promiseOf(vlan.interfaceName)).toBe("enp3s0.2");
        expect(await promiseOf(vlan.addresses)).toEqual(["10.0.0.101/24"]);
    });
});

describe("PacemakerVip", () => {
    test("a secret authkey to every member over stdin, then the VIP once all members run", async () => {
        const vip = new PacemakerVip("home-vip", { settings: VIP_SETTINGS, members: SEED_HOSTS.map((host) => ({ ssh: ssh(host.address) })) });
        await settle();
        const members = registered.filter((r) => r.name.startsWith("home-vip-member-"));
        expect(members.map((m) => m.name)).toEqual(["home-vip-member-home-server-1", "home-vip-member-home-server-2", "home-vip-member-home-server-3"]);
        const authkey = byName("home-vip-authkey");
        // a RandomPassword of 512 hex digits: the official provider keeps a RandomBytes' value in its plaintext ID
        expect(authkey.type).toBe("random:index/randomPassword:RandomPassword");
        expect(authkey.inputs).toMatchObject({ length: 512, lower: false, upper: false, numeric: true, special: true, overrideSpecial: "abcdef" });
        expect(authkey.additionalSecretOutputs).toContain("result");
        const mockedKey = Buffer.from("a".repeat(512), "hex").toString("base64");
        expect(Buffer.from(mockedKey, "base64")).toHaveLength(256);
        for (const member of members) {
            expect(secretValue(member.inputs.stdin)).toBe(mockedKey);
            expect(member.inputs.create).not.toContain(mockedKey);
            expect(member.inputs.delete).toContain("systemctl disable --now pcsd pcsd-ruby pacemaker corosync");
        }
        const cluster = byName("home-vip-vip");
        expect(cluster.dependsOn).toEqual(members.map((m) => m.name));
        expect((secretValue(cluster.inputs.connection) as { host: string }).host).toBe("10.0.0.101");
        expect(cluster.inputs.delete).toContain("pcs resource delete kube-api-vip");
        expect(await promiseOf(vip.vip)).toBe("10.0.0.100");
    });

    test("a member list and SSH list of different lengths is refused before anything is created", () => {
        expect(() => new PacemakerVip("bad", { settings: VIP_SETTINGS, members: [{ ssh: ssh("10.0.0.101") }] })).toThrow("3 members in settings but 1 to reach");
    });
});

test("secrets stay secret: stdin of a remote script is a secret output", async () => {
    new PacemakerVip("s", { settings: VIP_SETTINGS, members: SEED_HOSTS.map((host) => ({ ssh: ssh(host.address) })) });
    await settle();
    const { remoteScript } = await import("../components/remote");
    const command = remoteScript("probe", { target: ssh("10.0.0.1"), create: "true", stdin: "not-a-secret-yet" }, {});
    expect(await isSecretOutput(command.stdin as pulumi.Output<string>)).toBe(true);
});
