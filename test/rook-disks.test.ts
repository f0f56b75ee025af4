// What RookCeph does to the OSD disks themselves, run by bash on real loop devices of this machine
// (root): the check of a node's osdDevices before Rook sees them, the fsid record and its retirement,
// and the destroy-time wipe, which must zero this cluster's OSD disks and leave every other byte
// alone. /etc/homelab/ceph, /var/lib/rook and, for what this kernel cannot show (partitions,
// device-mapper holders), /sys/dev/block, mountinfo and /proc/swaps are moved into a scratch
// directory; pgrep is a stand-in only where the wipe waits for Ceph's daemons.
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { standIns } from "./helpers/standins";
import { DISK_FUNCTIONS, renderDeviceCheckScript, renderFsidRecordScript, renderFsidRetireScript } from "../components/rook/disks";
import { renderNodeWipeScript } from "../components/rook/teardown";

const MiB = 1048576;
const OURS = "8f2a5c1e-0c55-4b41-9d0a-3f0e1c2b4a6d";
const THEIRS = "1d3e9b7a-5f60-4c2d-8e1b-7a9c0d2e4f13";
const OSD_KEY = "AQBsecretsecretsecretsecretsecretsecretQ==";

const root = process.getuid?.() === 0;
const tools = ["losetup", "mkfs.ext4", "mount", "umount", "blkid"].every((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0);
if (!(root && tools)) {
    if (process.env.CI) throw new Error("the disk tests need root and losetup, mkfs.ext4, mount, blkid (util-linux, e2fsprogs)");
    console.warn("not root, or losetup/mkfs.ext4/mount/blkid missing: the disk tests on loop devices are skipped");
}
const maybe = root && tools ? describe : describe.skip;

// Debian's awk is mawk (no bit operations): the label is parsed with it when this machine has it
const mawk: Record<string, string> = spawnSync("sh", ["-c", "command -v mawk"]).status === 0 ? { awk: `exec mawk "$@"` } : {};

/** CRC-32C (Castagnoli, reflected), as Ceph's bufferlist::crc32c: seeded with -1 and not inverted at the end. */
function crc32c(data: Buffer, seed = 0xffffffff): number {
    let crc = seed >>> 0;
    for (const byte of data) {
        crc ^= byte;
        for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return crc >>> 0;
}

/**
 * The first 4 KiB of an OSD's block device as Ceph 18/19 write them: bluestore_bdev_label_t::encode
 * (src/os/bluestore/bluestore_types.cc) then BlueStore::_write_bdev_label's crc32c and zero padding.
 */
function bluestoreLabel(label: { osdUuid: string; size: number; fsid: string; whoami: number; osdKey: string }): Buffer {
    const u32 = (value: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(value); return b; };
    const u64 = (value: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(value)); return b; };
    const text = (value: string) => Buffer.concat([u32(Buffer.byteLength(value)), Buffer.from(value)]);
    // what an OSD's mkfs leaves in the label (OSD::mkfs, write_meta); a std::map encodes in key order
    const meta: Record<string, string> = {
        bluefs: "1", ceph_fsid: label.fsid, ceph_version_when_created: "ceph version 18.2.7 (reef)", created_at: "2026-01-02T03:04:05.678901Z",
        kv_backend: "rocksdb", magic: "ceph osd volume v026", mkfs_done: "yes", osd_key: label.osdKey, ready: "ready", require_osd_release: "18",
        whoami: String(label.whoami),
    };
    const keys = Object.keys(meta).sort();
    const body = Buffer.concat([
        Buffer.from(label.osdUuid.replace(/-/g, ""), "hex"), // uuid_d: 16 raw bytes
        u64(label.size),
        u32(1767323045), u32(678901000), // btime: utime_t, seconds and nanoseconds
        text("main"),
        u32(keys.length), ...keys.flatMap((key) => [text(key), text(meta[key])]),
    ]);
    const encoded = Buffer.concat([
        Buffer.from(`bluestore block device\n${label.osdUuid}\n`),
        Buffer.from([2, 1]), u32(body.length), body, // ENCODE_START(2, 1, bl) ... ENCODE_FINISH
    ]);
    const block = Buffer.alloc(4096, 0);
    Buffer.concat([encoded, u32(crc32c(encoded))]).copy(block);
    return block;
}

function sh(command: string): string {
    const result = spawnSync("bash", ["-c", command], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command}: ${result.stderr}`);
    return result.stdout.trim();
}

const firstMiB = (file: string) => {
    const fd = fs.openSync(file, "r");
    try {
        const buffer = Buffer.alloc(MiB);
        const read = fs.readSync(fd, buffer, 0, MiB, 0);
        return createHash("sha256").update(buffer.subarray(0, read)).digest("hex");
    } finally {
        fs.closeSync(fd);
    }
};
const nonZeroBytes = (file: string, length: number) => {
    const fd = fs.openSync(file, "r");
    try {
        const buffer = Buffer.alloc(length);
        fs.readSync(fd, buffer, 0, length, 0);
        return buffer.filter((byte) => byte !== 0).length;
    } finally {
        fs.closeSync(fd);
    }
};

maybe("OSD disks, on loop devices of this machine", () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-disks-"));
    const loops: string[] = [];
    const mounts: string[] = [];
    const processes: ChildProcess[] = [];
    const file = (name: string) => path.join(scratch, name);
    // name -> the device the scripts are given
    const devices: Record<string, string> = {};
    const images: Record<string, Buffer> = {};

    /** A 16 MiB image with `start` at offset 0 and data further on, behind a loop device. */
    function loopDisk(name: string, start: Buffer): string {
        const image = Buffer.alloc(16 * MiB, 0);
        start.copy(image, 0);
        image.write(`${name}'s data`, 5 * MiB);
        images[name] = image;
        fs.writeFileSync(file(`${name}.img`), image);
        const device = sh(`losetup -f --show ${file(`${name}.img`)}`);
        loops.push(device);
        return device;
    }
    const label = (fsid: string, whoami: number) => bluestoreLabel({
        osdUuid: `0b6c3f2e-8d1a-4f5b-9c7e-2a4d6f8b0c${String(10 + whoami)}`, size: 16 * MiB, fsid, whoami, osdKey: OSD_KEY,
    });
    /** Rewrites each loop device's image as it was made (the wipe tests change them). */
    function restore(...names: string[]) {
        for (const name of names) {
            const fd = fs.openSync(devices[name], "r+");
            fs.writeSync(fd, images[name], 0, 4 * MiB, 0);
            fs.fsyncSync(fd);
            fs.closeSync(fd);
        }
    }

    beforeAll(() => {
        // (a) a partition table (this kernel shows no partitions of it; /sys is faked for that below)
        let partitioned = Buffer.alloc(MiB, 0);
        if (spawnSync("sh", ["-c", "command -v sfdisk"]).status === 0) {
            fs.writeFileSync(file("table.img"), Buffer.alloc(16 * MiB));
            sh(`printf 'label: gpt\\n,8M\\n' | sfdisk -q ${file("table.img")}`);
            partitioned = fs.readFileSync(file("table.img"));
        } else {
            // an MBR with one Linux partition from sector 2048, as fdisk writes it
            partitioned.writeUInt8(0x83, 446 + 4);
            partitioned.writeUInt32LE(2048, 446 + 8);
            partitioned.writeUInt32LE(16384, 446 + 12);
            partitioned.writeUInt16LE(0xaa55, 510);
        }
        devices.partitioned = loopDisk("partitioned", partitioned);
        // (b) an ext4 file system, mounted
        devices.mounted = loopDisk("mounted", Buffer.alloc(0));
        // no lazy init: the kernel would otherwise zero inode tables in the background after the mount,
        // changing the disk's bytes while a test checks that nothing else did
        sh(`mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 ${devices.mounted}`);
        fs.mkdirSync(file("mnt"));
        sh(`mount ${devices.mounted} ${file("mnt")}`);
        mounts.push(file("mnt"));
        // (c) data without any label
        devices.random = loopDisk("random", Buffer.from(Array.from({ length: MiB }, (_, i) => (i * 7919 + 13) % 251)));
        // (d) osd.1 of this cluster, and (f) osd.2 of it behind a by-id style link
        devices.ours = loopDisk("ours", label(OURS, 1));
        devices.linked = loopDisk("linked", label(OURS, 2));
        fs.mkdirSync(file("by-id"));
        fs.symlinkSync(devices.linked, file("by-id/nvme-Samsung_SSD_970_EVO_Plus_250GB_S4EUNX0N123456"));
        devices.byId = file("by-id/nvme-Samsung_SSD_970_EVO_Plus_250GB_S4EUNX0N123456");
        // osd.3 of another cluster
        devices.theirs = loopDisk("theirs", label(THEIRS, 3));
        // zeroed at its start, as Rook's cleanup leaves it
        devices.blank = loopDisk("blank", Buffer.alloc(0));
        // (e) a regular file, with this cluster's label even
        devices.regular = file("regular.img");
        fs.writeFileSync(devices.regular, Buffer.concat([label(OURS, 4), Buffer.alloc(MiB)]));
    }, 60000);

    afterAll(() => {
        for (const child of processes) child.kill("SIGKILL");
        for (const mount of mounts) spawnSync("umount", ["-l", mount]);
        for (const loop of loops) spawnSync("losetup", ["-d", loop]);
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    const numberOf = (device: string) => sh(`d=$(stat -L -c '%t %T' ${device}); printf '%d:%d' 0x\${d% *} 0x\${d#* }`);
    /** /sys/dev/block with the device `name` as a whole disk whose partition is held by device-mapper. */
    function fakeSys(name: string, as: "disk-with-partition" | "partition"): string {
        const sys = state(`sys-${name}-${as}`);
        fs.rmSync(sys, { recursive: true, force: true });
        const number = numberOf(devices[name]);
        const [major, minor] = number.split(":");
        const disk = path.join(sys, "devices", "disk0");
        if (as === "disk-with-partition") {
            fs.mkdirSync(path.join(disk, "disk0p1", "holders", "dm-0", "dm"), { recursive: true });
            fs.writeFileSync(path.join(disk, "dev"), `${number}\n`);
            fs.writeFileSync(path.join(disk, "disk0p1", "partition"), "1\n");
            fs.writeFileSync(path.join(disk, "disk0p1", "dev"), `${major}:${Number(minor) + 200}\n`);
            fs.writeFileSync(path.join(disk, "disk0p1", "holders", "dm-0", "dm", "name"), "vg0-osd\n");
            fs.mkdirSync(path.join(sys, "block"));
            fs.symlinkSync(disk, path.join(sys, "block", number));
        } else {
            fs.mkdirSync(path.join(disk, "disk0p1"), { recursive: true });
            fs.writeFileSync(path.join(disk, "disk0p1", "partition"), "1\n");
            fs.writeFileSync(path.join(disk, "disk0p1", "dev"), `${number}\n`);
            fs.mkdirSync(path.join(sys, "block"));
            fs.symlinkSync(path.join(disk, "disk0p1"), path.join(sys, "block", number));
        }
        return path.relative(node.dir, path.join(sys, "block"));
    }

    // pgrep: the real one for ceph-osd (the check looks for OSDs holding a disk); for the wipe's wait
    // on Ceph's daemons, the pids in $STANDINS/daemons, one line per call, until the file runs out
    const node = standIns({
        ...mawk,
        sleep: "true",
        pgrep: `if [ "$2" = ceph-osd ]; then exec /usr/bin/pgrep "$@"; fi
echo "$*" >> "$STANDINS/pgrep-calls"
[ -s "$STANDINS/daemons" ] || exit 1
head -1 "$STANDINS/daemons"; sed -i 1d "$STANDINS/daemons"`,
    });
    afterAll(() => node.cleanup());
    const state = (name: string) => path.join(node.dir, name);

    // the node's records of the cluster's fsid (/etc/homelab/ceph, moved into the stand-ins' directory)
    function records(live?: string, destroyed?: string) {
        fs.rmSync(state("ceph"), { recursive: true, force: true });
        fs.mkdirSync(state("ceph"));
        if (live) fs.writeFileSync(state("ceph/fsid"), `${live}\n`);
        if (destroyed) fs.writeFileSync(state("ceph/fsid-destroyed"), `${destroyed}\n`);
    }
    const moved = (extra: Record<string, string> = {}) => ({ "/etc/homelab/ceph": "ceph", ...extra });

    describe("the wipe on destroy (wipeDisksOnDestroy on)", () => {
        const list = (...names: string[]) => names.map((name) => devices[name]);
        function wipe(osdDevices: string[], extra: Record<string, string> = {}, daemons: string[] = []) {
            fs.writeFileSync(state("daemons"), daemons.map((line) => `${line}\n`).join(""));
            fs.rmSync(state("rook"), { recursive: true, force: true });
            fs.mkdirSync(state("rook/rook-ceph/mon-a/data"), { recursive: true });
            fs.writeFileSync(state("rook/rook-ceph/mon-a/data/store.db"), "mon store");
            return node.run(renderNodeWipeScript({ hostname: "lab-1", osdDevices }, { wipeDisksOnDestroy: true }), moved({ "/var/lib/rook": "rook", ...extra }));
        }

        test("zeroes this cluster's OSD disks, also through a by-id link, and refuses everything else by name, leaving its bytes as they were", () => {
            restore("ours", "linked", "theirs", "random", "partitioned");
            records(undefined, OURS);
            const refused = ["partitioned", "mounted", "random", "theirs", "regular"];
            const before = Object.fromEntries(refused.map((name) => [name, firstMiB(devices[name])]));
            const result = wipe([...list("partitioned", "mounted", "random", "ours", "theirs", "regular", "byId", "blank"), file("sdz")]);
            expect(result.status).toBe(0);
            const err = (name: string) => result.stderr.split("\n").find((line) => line.startsWith(`NOT wiping ${devices[name]} on lab-1: `));
            expect(err("partitioned")).toMatch(/its start is not a Ceph BlueStore label but a partition table \(blkid: PTTYPE=(gpt|dos)\); it was left as it was/);
            expect(err("mounted")).toContain(`it is mounted (itself or a partition) at ${file("mnt")}`);
            expect(err("random")).toContain("its start is not a Ceph BlueStore label; it was left as it was");
            expect(err("theirs")).toContain(`its label names osd.3 of Ceph cluster ${THEIRS}, not the one lab-1 recorded for this stack (${OURS})`);
            expect(err("regular")).toContain("it is a regular file, not a block device");
            expect(result.stderr).toContain("5 OSD device(s) on lab-1 were refused and keep their data (above); the destroy goes on");
            for (const name of refused) expect(firstMiB(devices[name])).toBe(before[name]);
            expect(result.stdout).toContain(`zeroed the first 16 MiB of ${devices.ours} (osd.1 of Ceph cluster ${OURS}): its BlueStore label is gone`);
            expect(result.stdout).toContain(`zeroed the first 16 MiB of ${devices.byId} (osd.2 of Ceph cluster ${OURS})`);
            expect(nonZeroBytes(devices.ours, 16 * MiB)).toBe(0);
            expect(nonZeroBytes(devices.linked, 16 * MiB)).toBe(0);
            expect(result.stdout).toContain(`${devices.blank} is blank at its start already (Rook's cleanup zeroes it): nothing to wipe`);
            expect(result.stdout).toContain(`${file("sdz")} is not on lab-1: nothing to wipe`);
            expect(result.stdout).toContain(`emptied ${path.join(node.dir, "rook")} on lab-1`);
            // a refused disk may hold the destroyed cluster's data: its fsid stays for the next up's check
            expect(fs.readFileSync(state("ceph/fsid-destroyed"), "utf8")).toBe(`${OURS}\n`);
            expect(result.stdout + result.stderr).not.toContain(OSD_KEY);
        });

        test("the live record counts as well; a clean run forgets the destroyed cluster's fsid, and a second run finds nothing to do", () => {
            restore("ours", "linked");
            records(OURS, OURS);
            const first = wipe(list("ours", "byId"));
            expect(first.stderr).toBe("");
            expect(first.stdout).toContain("forgot the destroyed cluster's fsid on lab-1");
            expect(fs.existsSync(state("ceph/fsid-destroyed"))).toBe(false);
            const again = wipe(list("ours", "byId"));
            expect(again.status).toBe(0);
            expect(again.stdout).toContain(`${devices.ours} is blank at its start already`);
            expect(again.stdout).not.toContain("zeroed");
        });

        test("the copies of the label Ceph 19.2.1 and later keep at 1 and 10 GiB go as well, and only copies of that very label", () => {
            // a sparse 12 GiB disk: this cluster's label at 0 and 1 GiB, another cluster's at 10 GiB
            const GiB = 1024 * MiB;
            fs.writeFileSync(file("copies.img"), "");
            fs.truncateSync(file("copies.img"), 12 * GiB);
            const ours = label(OURS, 5);
            const fd = fs.openSync(file("copies.img"), "r+");
            fs.writeSync(fd, ours, 0, ours.length, 0);
            fs.writeSync(fd, ours, 0, ours.length, GiB);
            const theirs = label(THEIRS, 5);
            fs.writeSync(fd, theirs, 0, theirs.length, 10 * GiB);
            fs.closeSync(fd);
            const copies = sh(`losetup -f --show ${file("copies.img")}`);
            loops.push(copies);
            records(undefined, OURS);
            const result = wipe([copies]);
            expect(result.stderr).toBe("");
            expect(result.stdout).toContain(`zeroed the first 100 MiB of ${copies} (osd.5 of Ceph cluster ${OURS})`);
            expect(result.stdout).toContain(`zeroed the copy of that label at 1 GiB of ${copies}`);
            expect(result.stdout).not.toContain("at 10 GiB");
            const read = (offset: number) => {
                const buffer = Buffer.alloc(4096);
                const handle = fs.openSync(copies, "r");
                fs.readSync(handle, buffer, 0, 4096, offset);
                fs.closeSync(handle);
                return buffer;
            };
            expect(read(GiB).equals(Buffer.alloc(4096))).toBe(true);
            expect(read(10 * GiB).equals(theirs)).toBe(true);
        });

        test("with no fsid recorded on the node, a labelled disk is refused with the commands to wipe it by hand", () => {
            restore("ours");
            records();
            const before = firstMiB(devices.ours);
            const result = wipe(list("ours"));
            expect(result.status).toBe(0);
            expect(result.stderr).toContain(`NOT wiping ${devices.ours} on lab-1: its label names osd.1 of Ceph cluster ${OURS}, but lab-1 has no recorded fsid`);
            expect(result.stderr).toContain(`wipe it by hand as root on lab-1: dd if=/dev/zero of=${devices.ours} bs=1M count=100 conv=fsync`);
            expect(firstMiB(devices.ours)).toBe(before);
        });

        test("a disk with a partition held by device-mapper is refused (this kernel has neither: /sys is faked)", () => {
            restore("ours");
            records(undefined, OURS);
            const before = firstMiB(devices.ours);
            const result = wipe(list("ours"), { "/sys/dev/block": fakeSys("ours", "disk-with-partition") });
            expect(result.status).toBe(0);
            expect(result.stderr).toContain(`NOT wiping ${devices.ours} on lab-1: it has partitions: disk0p1; is held by dm-0 (vg0-osd) (device-mapper such as LVM or dm-crypt, md RAID, or another driver); it was left as it was`);
            expect(firstMiB(devices.ours)).toBe(before);
        });

        test("a disk in use as swap and the disk of / are refused (/proc/swaps and mountinfo faked)", () => {
            restore("ours", "linked");
            records(undefined, OURS);
            fs.writeFileSync(state("swaps"), `Filename\tType\tSize\tUsed\tPriority\n${devices.ours}\tpartition\t16380\t0\t-2\n`);
            fs.writeFileSync(state("mountinfo"), `26 1 ${numberOf(devices.linked)} / / rw,relatime - ext4 ${devices.byId} rw\n`);
            const before = [firstMiB(devices.ours), firstMiB(devices.linked)];
            const result = wipe(list("ours", "byId"), { "/proc/swaps": "swaps", "/proc/self/mountinfo": "mountinfo" });
            expect(result.status).toBe(0);
            expect(result.stderr).toContain(`NOT wiping ${devices.ours} on lab-1: it is in use as swap (${devices.ours}); it was left as it was`);
            expect(result.stderr).toContain(`NOT wiping ${devices.byId} on lab-1: it is mounted (itself or a partition) at /; holds the root file system /; it was left as it was`);
            expect([firstMiB(devices.ours), firstMiB(devices.linked)]).toEqual(before);
        });

        test("it waits for Ceph's daemons on the node to stop before it touches a disk", () => {
            restore("ours");
            records(undefined, OURS);
            const result = wipe(list("ours"), {}, ["4242 4243", "4243"]);
            expect(result.status).toBe(0);
            expect(result.stdout).toContain("[1/30] waiting for Ceph's daemons on lab-1 to stop (pids 4242 4243)");
            expect(result.stdout).toContain("[2/30] waiting for Ceph's daemons on lab-1 to stop (pids 4243)");
            expect(nonZeroBytes(devices.ours, MiB)).toBe(0);
        });

        test("daemons that never stop fail the step, and nothing is wiped", () => {
            restore("ours");
            records(undefined, OURS);
            const result = wipe(list("ours"), {}, Array.from({ length: 40 }, () => "4242"));
            expect(result.status).toBe(1);
            expect(result.stderr).toContain("Ceph's daemons still run on lab-1 (pids 4242) 5 minutes after the CephCluster was deleted");
            expect(result.stderr).toContain("were NOT wiped; the next destroy tries again");
            expect(nonZeroBytes(devices.ours, MiB)).toBeGreaterThan(0);
            expect(fs.readdirSync(state("rook"))).toEqual(["rook-ceph"]);
        });
    });

    test("with wipeDisksOnDestroy off the wipe keeps everything and asks nothing of the node", () => {
        restore("ours");
        const before = firstMiB(devices.ours);
        fs.writeFileSync(state("daemons"), "");
        fs.rmSync(state("pgrep-calls"), { force: true });
        const result = node.run(renderNodeWipeScript({ hostname: "lab-1", osdDevices: [devices.ours] }, { wipeDisksOnDestroy: false }));
        expect(result.status).toBe(0);
        expect(fs.existsSync(state("pgrep-calls"))).toBe(false);
        expect(result.stdout).toContain("wipeDisksOnDestroy was off at the last up: the OSD disks and /var/lib/rook on lab-1 keep Ceph's data; nothing was wiped");
        expect(firstMiB(devices.ours)).toBe(before);
    });

    describe("the check of a node's osdDevices before Rook", () => {
        const check = (names: string[], extra: Record<string, string> = {}) =>
            node.run(renderDeviceCheckScript({ hostname: "lab-1", osdDevices: names.map((name) => devices[name] ?? name) }, 2), moved(extra));

        test("blank loop disks, this cluster's OSDs (also by a by-id link) and data without a label pass", () => {
            restore("ours", "linked", "random");
            records(OURS);
            const result = check(["blank", "ours", "byId", "random"]);
            expect(result.stderr).toBe("");
            expect(result.status).toBe(0);
            expect(result.stdout).toContain(`lab-1: OSD devices checked: ${devices.blank} (blank) ${devices.ours} (osd.1 of this cluster, ${OURS}) ${devices.byId} (osd.2 of this cluster, ${OURS}) ${devices.random} (data without a known signature, which Rook may take)`);
        });

        test("every problem on the node is reported at once, by config key, and nothing is changed", () => {
            restore("ours", "theirs", "partitioned");
            records(undefined, OURS);
            const names = ["partitioned", "mounted", "regular", "theirs", "ours", "/dev/disk/by-id/gone", "blank"];
            const before = Object.fromEntries(["partitioned", "mounted", "theirs", "ours"].map((name) => [name, firstMiB(devices[name])]));
            const result = check(names);
            expect(result.status).toBe(1);
            const lines = result.stderr.trim().split("\n");
            expect(lines[0]).toBe("lab-1: these OSD devices cannot be given to Ceph; nothing was changed on the node:");
            expect(lines.slice(1, -1).map((line) => line.trim().split(":")[0])).toEqual([
                `nodes[2].osdDevices[0] ${devices.partitioned}`,
                `nodes[2].osdDevices[1] ${devices.mounted}`,
                `nodes[2].osdDevices[2] ${devices.regular}`,
                `nodes[2].osdDevices[3] ${devices.theirs}`,
                `nodes[2].osdDevices[4] ${devices.ours}`,
                "nodes[2].osdDevices[5] /dev/disk/by-id/gone",
            ]);
            expect(result.stderr).toMatch(/osdDevices\[0\] \S+: carries a partition table \(blkid: PTTYPE=(gpt|dos)\), not a Ceph BlueStore label; if that data may go, remove it by hand as root on lab-1: wipefs -a /);
            expect(result.stderr).toContain(`osdDevices[1] ${devices.mounted}: is mounted (itself or a partition) at ${file("mnt")}`);
            expect(result.stderr).toContain(`osdDevices[2] ${devices.regular}: is a regular file, not a block device`);
            expect(result.stderr).toContain(`osdDevices[3] ${devices.theirs}: holds osd.3 of another Ceph cluster (fsid ${THEIRS}; this node's record: none). If that data may go, wipe it by hand as root on lab-1: dd if=/dev/zero of=${devices.theirs} bs=1M count=100 conv=fsync`);
            expect(result.stderr).toContain(`osdDevices[4] ${devices.ours}: holds osd.1 of the Ceph cluster this stack destroyed (fsid ${OURS}), whose data that destroy kept`);
            expect(result.stderr).toContain("osdDevices[5] /dev/disk/by-id/gone: does not exist on lab-1");
            for (const name of Object.keys(before)) expect(firstMiB(devices[name])).toBe(before[name]);
            expect(result.stdout + result.stderr).not.toContain(OSD_KEY);
        });

        test("another cluster's label held open by a running ceph-osd passes: a live OSD on a stack from before the record", () => {
            restore("theirs");
            records();
            const osd = file("ceph-osd");
            fs.copyFileSync(sh("command -v sleep"), osd);
            fs.chmodSync(osd, 0o755);
            const fd = fs.openSync(devices.theirs, "r");
            const child = spawn(osd, ["600"], { stdio: [fd, "ignore", "ignore"] });
            processes.push(child);
            fs.closeSync(fd);
            try {
                const result = check(["theirs"]);
                expect(result.stderr).toBe("");
                expect(result.stdout).toContain(`${devices.theirs} (osd.3, open by ceph-osd pid ${child.pid})`);
            } finally {
                child.kill("SIGKILL");
            }
        });

        test("a partition, a disk with partitions or holders, swap, the disk of /, and one disk listed twice are refused", () => {
            records(OURS);
            fs.writeFileSync(state("swaps"), `Filename\tType\tSize\tUsed\tPriority\n${devices.blank}\tpartition\t16380\t0\t-2\n`);
            fs.writeFileSync(state("mountinfo"), `26 1 ${numberOf(devices.random)} / / rw,relatime - ext4 ${devices.random} rw\n`);
            const withPartition = check(["ours", "blank", "random", "linked", "byId"], {
                "/sys/dev/block": fakeSys("ours", "disk-with-partition"), "/proc/swaps": "swaps", "/proc/self/mountinfo": "mountinfo",
            });
            expect(withPartition.status).toBe(1);
            expect(withPartition.stderr).toContain(`osdDevices[0] ${devices.ours}: has partitions: disk0p1`);
            expect(withPartition.stderr).toContain(`osdDevices[0] ${devices.ours}: is held by dm-0 (vg0-osd)`);
            const partition = check(["ours", "blank", "linked", "byId"], { "/sys/dev/block": fakeSys("ours", "partition") });
            expect(partition.stderr).toContain(`osdDevices[0] ${devices.ours}: is partition disk0p1 of disk0, not a whole disk`);
            const real = check(["blank", "random", "linked", "byId"], { "/proc/swaps": "swaps", "/proc/self/mountinfo": "mountinfo" });
            expect(real.stderr).toContain(`osdDevices[0] ${devices.blank}: is in use as swap (${devices.blank})`);
            expect(real.stderr).toContain(`osdDevices[1] ${devices.random}: holds the root file system /`);
            expect(real.stderr).toContain(`osdDevices[3] ${devices.byId}: is the same disk as nodes[2].osdDevices[2] (${devices.linked})`);
        });
    });

    // Ceph's own tools, where this machine has them (Debian's ceph-osd): a label written by Ceph's mkfs,
    // and Ceph's reading of the hand-made one the other tests use
    // (scripts/setup.sh installs Debian's ceph-osd for this; without it the test fails rather than skips)
    test("an OSD made by Ceph's mkfs is read, refused under another fsid and wiped under its own; Ceph reads the hand-made label", () => {
        const shown = JSON.parse(sh(`ceph-bluestore-tool show-label --dev ${devices.regular}`))[devices.regular];
        expect(shown).toMatchObject({ osd_uuid: "0b6c3f2e-8d1a-4f5b-9c7e-2a4d6f8b0c14", ceph_fsid: OURS, whoami: "4", description: "main" });
        fs.writeFileSync(file("real.img"), "");
        fs.truncateSync(file("real.img"), 2 * 1024 * MiB);
        const real = sh(`losetup -f --show ${file("real.img")}`);
        loops.push(real);
        fs.mkdirSync(file("osd"));
        fs.symlinkSync(real, file("osd/block"));
        sh(`ceph-osd --cluster ceph --no-mon-config --conf /dev/null --mkfs -i 9 --osd-objectstore bluestore --osd-data ${file("osd")} --osd-uuid 0b6c3f2e-8d1a-4f5b-9c7e-2a4d6f8b0c19 --fsid ${OURS} --log-file ${file("osd.log")} --keyring ${file("osd.keyring")} --mkkey 2>/dev/null`);
        records(undefined, THEIRS);
        const before = firstMiB(real);
        const refused = node.run(renderNodeWipeScript({ hostname: "lab-1", osdDevices: [real] }, { wipeDisksOnDestroy: true }), moved({ "/var/lib/rook": "rook" }));
        expect(refused.stderr).toContain(`NOT wiping ${real} on lab-1: its label names osd.9 of Ceph cluster ${OURS}, not the one lab-1 recorded for this stack (${THEIRS})`);
        expect(firstMiB(real)).toBe(before);
        records(undefined, OURS);
        const wiped = node.run(renderNodeWipeScript({ hostname: "lab-1", osdDevices: [real] }, { wipeDisksOnDestroy: true }), moved({ "/var/lib/rook": "rook" }));
        expect(wiped.stdout).toContain(`zeroed the first 100 MiB of ${real} (osd.9 of Ceph cluster ${OURS})`);
        expect(spawnSync("ceph-bluestore-tool", ["show-label", "--dev", real]).status).not.toBe(0);
    }, 120000);

    describe("the fsid record", () => {
        const node1 = (...names: string[]) => ({ hostname: "lab-1", osdDevices: names.map((name) => devices[name]) });
        const record = (...names: string[]) => node.run(renderFsidRecordScript(node1(...names)), moved());
        const retire = (...names: string[]) => node.run(renderFsidRetireScript(node1(...names)), moved());

        test("is read from the node's own disks' labels, written root-only once, and moved aside by its delete", () => {
            restore("ours", "linked");
            records();
            fs.rmSync(state("ceph"), { recursive: true, force: true });
            const first = record("ours", "byId");
            expect(first.stderr).toBe("");
            expect(first.stdout).toContain(`recorded Ceph fsid ${OURS} in ${path.join(node.dir, "ceph/fsid")} on lab-1`);
            expect(fs.readFileSync(state("ceph/fsid"), "utf8")).toBe(`${OURS}\n`);
            expect(fs.statSync(state("ceph/fsid")).mode & 0o777).toBe(0o600);
            expect(record("ours", "byId").stdout).toContain(`lab-1 has recorded Ceph fsid ${OURS} already`);
            const retired = retire("ours", "byId");
            expect(retired.status).toBe(0);
            expect(fs.existsSync(state("ceph/fsid"))).toBe(false);
            expect(fs.readFileSync(state("ceph/fsid-destroyed"), "utf8")).toBe(`${OURS}\n`);
            expect(retire("ours").stdout).toContain("no Ceph fsid is recorded on lab-1: nothing to retire");
        });

        test("refuses to record when a disk has no label, or two disks name two clusters; its delete leaves a record the disks contradict", () => {
            restore("ours", "theirs");
            records();
            fs.rmSync(state("ceph"), { recursive: true, force: true });
            const unlabelled = record("ours", "random");
            expect(unlabelled.status).toBe(1);
            expect(unlabelled.stderr).toContain(`${devices.random} on lab-1 carries no BlueStore label that names a cluster`);
            const two = record("ours", "theirs");
            expect(two.status).toBe(1);
            expect(two.stderr).toContain("the OSD disks of lab-1 name two Ceph clusters");
            expect(fs.existsSync(state("ceph/fsid"))).toBe(false);
            records(OURS);
            const left = retire("theirs");
            expect(left.stdout).toContain(`names Ceph cluster ${OURS}, but its disks carry cluster ${THEIRS}'s labels: the record is left as it is`);
            expect(fs.readFileSync(state("ceph/fsid"), "utf8")).toBe(`${OURS}\n`);
        });
    });
});

describe("the BlueStore label parser, on files, with each awk this machine has", () => {
    const awks = ["mawk", "gawk", "busybox awk"].filter((awk) => spawnSync("sh", ["-c", `command -v ${awk.split(" ")[0]}`]).status === 0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-label-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const parse = (awk: string, bytes: Buffer) => {
        fs.writeFileSync(path.join(dir, "disk"), bytes);
        const result = spawnSync("bash", ["-c", `set -euo pipefail\nawk() { ${awk} "$@"; }\n${DISK_FUNCTIONS}\nbluestore_label ${path.join(dir, "disk")}`], { encoding: "utf8" });
        expect(result.stderr).toBe("");
        return result.stdout.trim();
    };
    const good = () => bluestoreLabel({ osdUuid: "0b6c3f2e-8d1a-4f5b-9c7e-2a4d6f8b0c11", size: 10 * 2 ** 30, fsid: OURS, whoami: 7, osdKey: OSD_KEY });

    test.each(awks)("%s: fsid, whoami and the OSD's uuid, and never the OSD's key", (awk) => {
        expect(parse(awk, good())).toBe(`bluestore ${OURS} 7 0b6c3f2e-8d1a-4f5b-9c7e-2a4d6f8b0c11`);
    });

    test.each(awks)("%s: what is not a readable label that names its cluster", (awk) => {
        expect(parse(awk, Buffer.alloc(4096))).toBe("none");
        expect(parse(awk, Buffer.from("bluestore block devic"))).toBe("none");
        const v1 = good();
        v1[60] = 1;
        expect(parse(awk, v1)).toBe("unreadable (label version 1, which has no meta map and so no ceph_fsid)");
        const long = good();
        long.writeUInt32LE(5000, 62);
        expect(parse(awk, long)).toBe("unreadable (its length runs past the first 4 KiB)");
        const lying = good();
        lying.writeUInt32LE(5000, 110); // after the description ("main", from 98) and the count (106): the first key claims 5000 bytes
        expect(parse(awk, lying)).toBe("unreadable (its meta map runs past the label)");
        const unfinished = bluestoreLabel({ osdUuid: "0b6c3f2e-8d1a-4f5b-9c7e-2a4d6f8b0c11", size: 1, fsid: OURS, whoami: 7, osdKey: OSD_KEY });
        const at = unfinished.indexOf("ceph_fsid");
        unfinished.write("ceph_fsiX", at);
        expect(parse(awk, unfinished)).toBe("unreadable (no ceph_fsid in its meta map: an OSD whose creation did not finish)");
    });
});
