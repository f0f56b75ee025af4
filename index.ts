// homelab: bare-metal servers from powered off to Kubernetes with Ceph storage.
// Config is read and validated first, so bad input fails before any resource exists; then each
// node's SSH port is probed from here (no login) to see which machines are on, and each control plane's
// API server for when its certificate expires and which version it runs (a kubernetes.version the
// running cluster cannot take is refused here), and this machine's snapshot folder for the newest
// etcd snapshot, before anything is planned.
import { ConfigError, loadConfig } from "./stacks/config";
import { kubernetesVersionChange } from "./stacks/rules/kubernetes";
import { composeHomelab } from "./stacks/compose";
import { observeLab } from "./stacks/observe";

const config = loadConfig();

export = observeLab(config).then((observed) => {
    // what the config asks of the running cluster, checked before anything is planned
    const problems = kubernetesVersionChange(config, observed.apiVersions);
    if (problems.length > 0) throw new ConfigError(problems);
    const lab = composeHomelab(config, observed);
    // Stages switched off in config have no outputs, rather than empty ones.
    return Object.fromEntries(Object.entries({
        nodes: lab.nodes,
        vip: lab.vip,
        apiEndpoint: lab.apiEndpoint,
        kubeconfig: lab.kubeconfig,
        podCidr: lab.podCidr,
        storageClasses: lab.storageClasses,
        power: lab.power,
        certificatesExpire: lab.certificatesExpire,
        lastSnapshot: lab.lastSnapshot,
        restored: lab.restored,
    }).filter(([, value]) => value !== undefined));
});
