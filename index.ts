// homelab: bare-metal servers from powered off to Kubernetes with Ceph storage.
// Config is read and validated first, so bad input fails before any resource exists; then each
// node's SSH port is probed from here (no login) to see which machines are on, before anything is planned.
import { loadConfig } from "./stacks/config";
import { composeHomelab } from "./stacks/compose";
import { observePower } from "./stacks/observe";

const config = loadConfig();

export = observePower(config).then((seen) => {
    const lab = composeHomelab(config, seen);
    // Stages switched off in config have no outputs, rather than empty ones.
    return Object.fromEntries(Object.entries({
        nodes: lab.nodes,
        vip: lab.vip,
        apiEndpoint: lab.apiEndpoint,
        kubeconfig: lab.kubeconfig,
        podCidr: lab.podCidr,
        storageClasses: lab.storageClasses,
        power: lab.power,
    }).filter(([, value]) => value !== undefined));
});
