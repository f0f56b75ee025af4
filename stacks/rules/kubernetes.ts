// Rules on Kubernetes: its networks, control planes, image GC, graceful shutdown and mirror.
import { controlPlaneProblems } from "../../components/kubeadm/config";
import { versionChangeProblems } from "../../components/kubeadm/upgrade";
import { each, wellFormed } from "../partial";
import { ParsedConfig } from "../schema";
import { mirrorRelease } from "./mirrors";
import { cidrOf, cidrsOverlap, ConfigProblem, contains, underKeys } from "./shared";

/** The kubelet's own image GC thresholds, which apply to the one of the pair a stack leaves out. */
const KUBELET_IMAGE_GC_DEFAULTS = { high: 85, low: 80 };

export function kubernetesNetworks(config: ParsedConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const k8s = config.kubernetes;
    if (!k8s.enabled) return [];
    const named: [string, () => string][] = [["kubernetes.podCidr", () => k8s.podCidr], ["kubernetes.serviceCidr", () => k8s.serviceCidr], ["network.cidr", () => config.network.cidr]];
    for (let i = 0; i < named.length; i++) {
        for (let j = i + 1; j < named.length; j++) {
            wellFormed(() => {
                const [a, b] = [named[i][1](), named[j][1]()];
                if (cidrsOverlap(cidrOf(a), cidrOf(b))) {
                    problems.push({ key: named[i][0], value: a, message: `overlaps ${named[j][0]} (${b}); pod, service and node networks must not overlap` });
                }
            });
        }
    }
    // Addresses the machines use outside the cluster: inside a pod or service network, the cluster would
    // route them to pods. Those in network.cidr are left to the overlap message above.
    const internal = wellFormed(() => cidrOf(config.network.cidr));
    const addresses: [string, string][] = [];
    const add = (key: string, read: () => string) => wellFormed(() => addresses.push([key, read()]));
    wellFormed(() => each(config.nodes, (node, index) => add(`nodes[${index}].sshAddress`, () => node.sshAddress)));
    wellFormed(() => each(config.nodes, (node, index) => add(`nodes[${index}].internalAddress`, () => node.internalAddress)));
    add("vip.address", () => config.vip.address);
    wellFormed(() => each(config.network.routes, (route, index) => add(`network.routes[${index}].via`, () => route.via)));
    add("wakeOnLan.broadcast", () => config.wakeOnLan.broadcast);
    for (const [key, read] of [["kubernetes.podCidr", () => k8s.podCidr], ["kubernetes.serviceCidr", () => k8s.serviceCidr]] as const) {
        wellFormed(() => {
            const network = cidrOf(read());
            const covered: string[] = [];
            for (const [addressKey, value] of addresses) {
                if (contains(network, value) && !(internal && contains(internal, value))) covered.push(`${addressKey} (${value})`);
            }
            wellFormed(() => each(config.network.routes, (route, index) => {
                if (cidrsOverlap(network, cidrOf(route.to))) covered.push(`network.routes[${index}].to (${route.to})`);
            }));
            if (covered.length > 0) {
                problems.push({ key, value: read(), message: `covers ${covered.join(", ")}, which the cluster would then route to pods; expected a network that holds no machine, route or Wake-on-LAN address` });
            }
        });
    }
    return problems;
}

export function controlPlanes(config: ParsedConfig): ConfigProblem[] {
    if (!config.kubernetes.enabled) return [];
    return underKeys("", controlPlaneProblems(config.nodes.map((node) => ({ role: node.role }))));
}

/** The kubelet refuses a low threshold at or above the high one, and a threshold left out takes the kubelet's default. */
export function imageGC(config: ParsedConfig): ConfigProblem[] {
    const kubelet = config.kubernetes.kubelet;
    if (!kubelet) return [];
    const high = kubelet.imageGCHighThresholdPercent;
    const low = kubelet.imageGCLowThresholdPercent;
    if (high !== undefined && low !== undefined) {
        return low >= high ? [{ key: "kubernetes.kubelet.imageGCLowThresholdPercent", value: low, message: `must be below kubernetes.kubelet.imageGCHighThresholdPercent (${high})` }] : [];
    }
    if (low !== undefined && low >= KUBELET_IMAGE_GC_DEFAULTS.high) {
        return [{ key: "kubernetes.kubelet.imageGCLowThresholdPercent", value: low, message: `must be below the kubelet's default imageGCHighThresholdPercent (${KUBELET_IMAGE_GC_DEFAULTS.high}); expected 0-${KUBELET_IMAGE_GC_DEFAULTS.high - 1}, or set kubernetes.kubelet.imageGCHighThresholdPercent too` }];
    }
    if (high !== undefined && high <= KUBELET_IMAGE_GC_DEFAULTS.low) {
        return [{ key: "kubernetes.kubelet.imageGCHighThresholdPercent", value: high, message: `must be above the kubelet's default imageGCLowThresholdPercent (${KUBELET_IMAGE_GC_DEFAULTS.low}); expected ${KUBELET_IMAGE_GC_DEFAULTS.low + 1}-100, or set kubernetes.kubelet.imageGCLowThresholdPercent too` }];
    }
    return [];
}

/** The critical pods' share of a graceful shutdown is part of the whole: the kubelet refuses it otherwise. */
export function gracefulShutdown(config: ParsedConfig): ConfigProblem[] {
    const { period, criticalPodsPeriod } = config.kubernetes.gracefulShutdown;
    const seconds = (duration: string) => Number(duration.slice(0, -1)) * (duration.endsWith("m") ? 60 : 1);
    if (seconds(criticalPodsPeriod) < seconds(period)) return [];
    return [{ key: "kubernetes.gracefulShutdown.criticalPodsPeriod", value: criticalPodsPeriod, message: `is not below kubernetes.gracefulShutdown.period (${period}); expected a part of it, like 30s of 120s` }];
}

export function kubernetesMirror(config: ParsedConfig): ConfigProblem[] {
    const k8s = config.kubernetes;
    if (!k8s.enabled) return [];
    return mirrorRelease("kubernetes", "kubernetes.mirror", k8s.mirror, "kubernetes.version", () => k8s.version, "offline/build-kubernetes.sh");
}

/** kubernetes.version against the versions the control planes were seen running (stacks/observe.ts): no downgrade, one minor at a time. */
export function kubernetesVersionChange(config: Pick<ParsedConfig, "kubernetes">, running: Record<string, string>): ConfigProblem[] {
    if (!config.kubernetes.enabled) return [];
    return underKeys("kubernetes.", versionChangeProblems(running, config.kubernetes.version));
}
