// homelab: bare-metal servers from powered off to Kubernetes with Ceph storage.
// Config is read and validated first, so bad input fails before any resource exists.
import { loadConfig } from "./stacks/config";
import { composeHomelab } from "./stacks/compose";

const lab = composeHomelab(loadConfig());

// Stages switched off in config have no outputs, rather than empty ones.
const outputs = Object.fromEntries(Object.entries({
    nodes: lab.nodes,
    vip: lab.vip,
    apiEndpoint: lab.apiEndpoint,
    kubeconfig: lab.kubeconfig,
    podCidr: lab.podCidr,
    storageClasses: lab.storageClasses,
}).filter(([, value]) => value !== undefined));

export = outputs;
