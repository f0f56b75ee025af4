import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Follows } from "../order";
import { readSecret, remoteScript, SshTarget } from "../remote";
import { randomHex, randomLowerAlphanumeric } from "../secret";
import { certificatesDue, earliestExpiry, renderCertificateRenewalScript } from "./certificates";
import { caCertHashOf, clusterSpecProblems, ClusterSpec, controlPlanesOf, endpointOf, NodeRole } from "./config";
import { describeArgProblems } from "../problems";
import { renderAdmissionScript } from "./admission";
import { renderDeparturesScript } from "./departures";
import { PackageSource, renderPackagesScript } from "./packages";
import { renderRestorePkiScript } from "./pki";
import {
    renderGracefulShutdownScript, renderInitScript, renderJoinScript, renderJoinSecretsCleanupScript, renderKubeconfigScript, renderPrejoinScript,
} from "./render";
import { renderResetScript } from "./reset";
import { HealthGate, renderUpgradeDrainScript, renderUpgradeNodeScript, renderUpgradeReleaseScript, upgradeOrder } from "./rolling-upgrade";

export { PackageSource } from "./packages";
export { HealthGate } from "./rolling-upgrade";

export interface KubeadmNode extends Follows {
    /** e.g. home-server-1 */
    hostname: string;
    /** Address on the internal network, used by kubelet and etcd, e.g. 10.0.0.101. */
    internalAddress: string;
    /** e.g. control-plane; the first control plane listed runs `kubeadm init`. */
    role: NodeRole;
    /** How Pulumi reaches the node, e.g. { host: "192.168.10.101", port: 22, user: "homeuser", privateKey }. */
    ssh: SshTarget;
    /** What the node's packages (and containerd's configuration) wait for, e.g. the node prepared; its join also waits for the component's `after`. */
    after?: pulumi.Resource[];
    /**
     * Which machine is at the node's address (BareMetalNode.machine), e.g. the sha256 of its
     * /etc/machine-id; unset: "unknown". A new one under the same hostname (a replaced machine) has
     * the old machine's Node and etcd member removed before it joins.
     */
    machine?: pulumi.Input<string>;
}

export interface KubeadmClusterArgs extends Omit<ClusterSpec, "nodes" | "imagesPreloaded">, Follows {
    /** Every node, e.g. [{ hostname: "home-server-1", internalAddress: "10.0.0.101", role: "control-plane", ssh }]. */
    nodes: KubeadmNode[];
    /**
     * Where kubeadm, kubelet, kubectl and the control-plane images come from: { source: "upstream" }
     * (pkgs.k8s.io, registry.k8s.io) or { source: "mirror", url: "http://10.0.0.1:8480/kubernetes-v1.37.2" }.
     */
    packages: PackageSource;
    /** When kubeadm's certificates are renewed; unset: 90 days before they expire, none seen yet. */
    certificates?: CertificatePolicy;
    /** A snapshot's CAs and keys, put in place before init where none are (a lab rebuilt from a snapshot); see ./pki. */
    restoredPki?: RestoredPki;
}

export interface RestoredPki {
    /** The snapshot's shared certificates and keys, a base64 tar.gz (a secret: it is sent on stdin only). */
    archive: pulumi.Input<string>;
    /** sha256 of its ca.crt. */
    caSha256: string;
    /** Where it came from, for the messages, e.g. homelab-etcd-20261205T235200Z.tar.gz. */
    snapshot: string;
}

export interface CertificatePolicy {
    /** Renew a control plane's certificates once the one its API server serves has fewer days left than this, e.g. 90. */
    renewBeforeDays: number;
    /** Per control plane seen answering when the program started: when its API server's certificate expires, e.g. { "home-server-1": "2027-12-05T14:20:00.000Z" }. */
    served: Record<string, string>;
    /** What `served` is compared with: when it was read. */
    now: Date;
}

/** An HA kubeadm cluster behind a VIP: packages, init, serial control-plane joins, worker joins, reset on delete. */
export class KubeadmCluster extends pulumi.ComponentResource {
    /** The admin kubeconfig (a secret), its server the VIP endpoint. */
    readonly kubeconfig: pulumi.Output<string>;
    /** e.g. https://10.0.0.100:6443 */
    readonly apiEndpoint: pulumi.Output<string>;
    readonly nodeNames: pulumi.Output<string[]>;
    /** What names this cluster for the Kubernetes providers of later components, e.g. "homelab/lab" (see ../cluster-api). */
    readonly clusterIdentifier: string;
    /** Complete when every node has joined and the kubeconfig is read. */
    readonly ready: pulumi.Resource[];
    /**
     * Per node: complete when containerd runs there as the kubelet needs it (the node's packages
     * step). Components that import images into a node wait for this, not for the whole cluster.
     */
    readonly runtimeReadyOn: Record<string, pulumi.Resource[]>;
    /** When the first of the control planes' certificates expires (ISO 8601), as the last renewal check found it. */
    readonly certificatesExpire: pulumi.Output<string>;
    /**
     * Creates the step that takes the nodes the config no longer lists out of the cluster (drain,
     * etcd member, Node object; see ./departures), after `after`: call it once, after whatever must
     * leave a node first (Ceph's OSDs), e.g. RookCeph.ready. Returns the step.
     */
    readonly removeDeparted: (after: pulumi.Resource[]) => pulumi.Resource[];
    /**
     * Creates the rolling upgrade (see ./rolling-upgrade): per node, one at a time, the first control
     * plane first, a drain, the upgrade on the node and its release, each a step of its own so that a
     * rerun resumes where one failed; at the running version each finds nothing to do. `healthGate`
     * (e.g. Ceph's) must pass before each drain and after each node. Call it once, after `after`.
     * Returns the steps.
     */
    readonly upgradeNodes: (options: { after: pulumi.Resource[]; healthGate?: HealthGate }) => pulumi.Resource[];

    constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:index:KubeadmCluster", name, {}, opts);

        const { packages: _packages, certificates: _certificates, restoredPki: _restoredPki, ...settings } = args;
        const spec: ClusterSpec = {
            ...settings,
            nodes: args.nodes.map(({ hostname, internalAddress, role }) => ({ hostname, internalAddress, role })),
            imagesPreloaded: args.packages.source === "mirror",
        };
        const problems = clusterSpecProblems(spec);
        if (problems.length > 0) throw new pulumi.ResourceError(describeArgProblems(`KubeadmCluster ${name}`, problems), this);
        const initNode = args.nodes.find((node) => node.hostname === controlPlanesOf(spec)[0].hostname) as KubeadmNode;
        const joiningControlPlanes = args.nodes.filter((node) => node.role === "control-plane" && node !== initNode);
        const workers = args.nodes.filter((node) => node.role === "worker");

        // The bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}) and the certificate key (32 bytes in hex, as kubeadm requires).
        const tokenId = randomLowerAlphanumeric(`${name}-token-id`, 6, { parent: this });
        const tokenSecret = randomLowerAlphanumeric(`${name}-token-secret`, 16, { parent: this });
        const token = pulumi.secret(pulumi.interpolate`${tokenId}.${tokenSecret}`);
        const certificateKey = randomHex(`${name}-certificate-key`, 32, { parent: this });
        const tokenAndKey = pulumi.secret(pulumi.interpolate`${token}\n${certificateKey}\n`);
        const tokenOnly = pulumi.secret(pulumi.interpolate`${token}\n`);

        // Created first on each node so that it is deleted last: the reset runs once nothing else needs the node.
        const packages = new Map<string, command.remote.Command>();
        for (const node of args.nodes) {
            packages.set(node.hostname, remoteScript(`${name}-${node.hostname}-packages`, {
                target: node.ssh,
                create: renderPackagesScript(args.packages, args.version, node.hostname),
                delete: renderResetScript(node),
            }, { parent: this, dependsOn: node.after }));
        }
        const packagesOf = (node: KubeadmNode) => packages.get(node.hostname) as command.remote.Command;

        const restoredPki = args.restoredPki && remoteScript(`${name}-restore-pki`, {
            target: initNode.ssh,
            create: renderRestorePkiScript({ caSha256: args.restoredPki.caSha256, snapshot: args.restoredPki.snapshot }),
            stdin: pulumi.secret(args.restoredPki.archive),
        }, {
            parent: this,
            // into the folder kubeadm's package made; init follows it
            dependsOn: [packagesOf(initNode)],
        });

        const init = remoteScript(`${name}-init`, {
            target: initNode.ssh,
            create: renderInitScript(spec, initNode),
            stdin: tokenAndKey,
        }, {
            parent: this,
            // kubeadm must be installed first, and what the cluster follows (its endpoint, the VIP) be
            // there; a snapshot's CAs, when one is restored, in place so that init uses them
            dependsOn: [packagesOf(initNode), ...(restoredPki ? [restoredPki] : []), ...(args.after ?? [])],
        });

        // admin.conf as init wrote it, read once: joins pin the cluster CA from it (the admin
        // kubeconfig handed on is read again after each renewal, below)
        const kubeconfig = readSecret(`${name}-kubeconfig`, {
            target: initNode.ssh,
            create: renderKubeconfigScript(spec),
        }, {
            parent: this,
            // admin.conf is complete once init is
            dependsOn: [init],
        });
        // joins pin the cluster CA by the hash of its public key, which is no secret; read from the
        // kubeconfig here rather than from a step's output, so it stays known in every preview
        const caCertHash = pulumi.unsecret(kubeconfig.stdout.apply(caCertHashOf));

        const joins: command.remote.Command[] = [];
        const joinStepOf = new Map<string, pulumi.Resource>();
        const joining = [...joiningControlPlanes, ...workers];
        if (joining.length > 0) {
            // a new joining node needs a live token and certificates uploaded less than 2 h ago
            const joiningNames = joining.map((node) => node.hostname);
            const machineOf = (node: KubeadmNode) => pulumi.output(node.machine ?? "unknown");
            // a machine put in place of another changes the script, which then runs again for its join
            const prejoinScript = pulumi.all(joining.map(machineOf)).apply((machines) =>
                renderPrejoinScript(spec, initNode, joining.map((node, index) => ({ hostname: node.hostname, machine: machines[index] }))));
            const prejoin = remoteScript(`${name}-prejoin`, {
                target: initNode.ssh,
                create: prejoinScript,
                stdin: tokenAndKey,
                triggers: joiningNames,
            }, {
                parent: this,
                // the token and certificates live in the cluster that init creates
                dependsOn: [init],
            });
            let previous: pulumi.Resource = prejoin;
            for (const node of joining) {
                const controlPlane = node.role === "control-plane";
                const admission = remoteScript(`${name}-${node.hostname}-admission`, {
                    target: initNode.ssh,
                    create: machineOf(node).apply((machine) => renderAdmissionScript({ hostname: node.hostname, role: node.role, machine })),
                }, {
                    parent: this,
                    // the old machine's Node and member are in the cluster init made; a control plane's
                    // after the one before it joined, as etcd changes one member at a time
                    dependsOn: controlPlane ? [init, previous] : [init],
                });
                const join = remoteScript(`${name}-${node.hostname}-join`, {
                    target: node.ssh,
                    create: caCertHash.apply((hash) => renderJoinScript(spec, node, hash)),
                    // workers get the token only: the certificate key unlocks the control-plane keys
                    stdin: controlPlane ? tokenAndKey : tokenOnly,
                }, {
                    parent: this,
                    // kubeadm must be installed; control planes join one at a time (etcd adds members
                    // serially) and workers join after the last of them; what an old machine under
                    // this name left is gone
                    dependsOn: [packagesOf(node), previous, admission, ...(args.after ?? [])],
                });
                if (controlPlane) previous = join;
                joins.push(join);
                joinStepOf.set(node.hostname, join);
            }
            // once every node has joined, the token and the uploaded control-plane keys have no use
            // left: they are deleted, and the next join's pre-join step creates them again
            joins.push(remoteScript(`${name}-join-secrets-cleanup`, {
                target: initNode.ssh,
                create: prejoinScript.apply(renderJoinSecretsCleanupScript),
                stdin: tokenOnly,
                triggers: joiningNames,
            }, { parent: this, dependsOn: [...joins] }));
        }

        // graceful node shutdown also on nodes that joined before it was configured (init and joins
        // write it from the start, and this then finds it)
        const gracefulShutdown = args.gracefulShutdown;
        const shutdownSteps = gracefulShutdown === undefined ? [] : args.nodes.map((node) => remoteScript(`${name}-${node.hostname}-graceful-shutdown`, {
            target: node.ssh,
            create: renderGracefulShutdownScript(node.hostname, gracefulShutdown),
        }, {
            parent: this,
            // the kubelet's configuration exists once the node has joined
            dependsOn: [joinStepOf.get(node.hostname) ?? init],
        }));

        // Certificates: checked on every control plane, one node at a time (each restart of its pods
        // leaves the others serving and etcd its quorum); renewed where the up found them due, which
        // the preview shows as the replacement of that node's step, its trigger naming the expiry.
        const policy = args.certificates ?? { renewBeforeDays: 90, served: {}, now: new Date() };
        const due = new Set(certificatesDue(policy.served, policy.renewBeforeDays, policy.now));
        const triggerOf = (hostname: string) => (due.has(hostname) ? `renew: the API server's certificate expires ${policy.served[hostname]}` : "not due");
        const shutdownStepOf = new Map(shutdownSteps.map((step, index) => [args.nodes[index].hostname, step]));
        const renewals: command.remote.Command[] = [];
        for (const node of [initNode, ...joiningControlPlanes]) {
            const previous = renewals[renewals.length - 1];
            renewals.push(remoteScript(`${name}-${node.hostname}-certificates`, {
                target: node.ssh,
                create: renderCertificateRenewalScript({ hostname: node.hostname, renewBeforeDays: policy.renewBeforeDays }),
                triggers: [triggerOf(node.hostname)],
            }, {
                parent: this,
                // "not due" never replaces the step that last renewed
                ignoreChanges: due.has(node.hostname) ? [] : ["triggers"],
                // the node has joined and its kubelet restarted for graceful shutdown; one node at a time
                dependsOn: [joinStepOf.get(node.hostname) ?? init, ...[shutdownStepOf.get(node.hostname), previous].filter((step) => step !== undefined)],
            }));
        }
        // admin.conf as it is now: read again once the init node's certificates were renewed, so
        // that the kubeconfig handed on does not expire with the certificate it was first read with
        const adminKubeconfig = readSecret(`${name}-admin-kubeconfig`, {
            target: initNode.ssh,
            create: renderKubeconfigScript(spec),
            triggers: [triggerOf(initNode.hostname)],
        }, {
            parent: this,
            ignoreChanges: due.has(initNode.hostname) ? [] : ["triggers"],
            // admin.conf is renewed by the init node's renewal
            dependsOn: [renewals[0]],
        });

        this.removeDeparted = (after) => [remoteScript(`${name}-departures`, {
            target: initNode.ssh,
            create: renderDeparturesScript({ nodes: spec.nodes }),
        }, {
            parent: this,
            // the nodes that stay have joined; `after`: what must leave a node before its drain
            dependsOn: [...this.ready, ...after],
        })];

        this.upgradeNodes = ({ after, healthGate }) => {
            const steps: pulumi.Resource[] = [];
            let previous: pulumi.Resource[] = [...this.ready, ...after];
            for (const node of upgradeOrder(args.nodes)) {
                const each = { hostname: node.hostname, role: node.role, version: args.version, nodeCount: args.nodes.length, healthGate };
                const drain = remoteScript(`${name}-${node.hostname}-upgrade-drain`, {
                    target: initNode.ssh,
                    create: renderUpgradeDrainScript(each),
                }, {
                    parent: this,
                    // one node at a time: the node before it released, or every node joined and `after`
                    dependsOn: previous,
                });
                const upgrade = remoteScript(`${name}-${node.hostname}-upgrade`, {
                    target: node.ssh,
                    create: renderUpgradeNodeScript({
                        hostname: node.hostname, role: node.role, first: node === initNode, version: args.version,
                        packages: args.packages, gracefulShutdown: args.gracefulShutdown, apiPort: args.controlPlaneEndpoint.port,
                        allowCgroupV1: args.allowCgroupV1,
                    }),
                }, {
                    parent: this,
                    // the node drained; its packages step staged the new version's images
                    dependsOn: [drain, packagesOf(node)],
                });
                const release = remoteScript(`${name}-${node.hostname}-upgrade-release`, {
                    target: initNode.ssh,
                    create: renderUpgradeReleaseScript(each),
                }, {
                    parent: this,
                    // the node runs the new version
                    dependsOn: [upgrade],
                });
                steps.push(drain, upgrade, release);
                previous = [release];
            }
            return steps;
        };

        this.kubeconfig = pulumi.secret(adminKubeconfig.stdout);
        this.certificatesExpire = pulumi.all(renewals.map((step) => step.stdout)).apply(earliestExpiry);
        this.apiEndpoint = pulumi.output(`https://${endpointOf(spec)}`);
        this.nodeNames = pulumi.output(args.nodes.map((node) => node.hostname));
        // the cluster's name is baked in at init and never changes while the cluster lives
        this.clusterIdentifier = `homelab/${args.clusterName}`;
        this.ready = [...(restoredPki ? [restoredPki] : []), init, ...joins, kubeconfig, ...shutdownSteps, ...renewals, adminKubeconfig];
        this.runtimeReadyOn = Object.fromEntries([...packages].map(([hostname, step]) => [hostname, [step]]));
        this.registerOutputs({ kubeconfig: this.kubeconfig, apiEndpoint: this.apiEndpoint, nodeNames: this.nodeNames, certificatesExpire: this.certificatesExpire });
    }
}
