// homelab: bare-metal servers from powered off to Kubernetes with Ceph storage.
// Config is read and validated first, so bad input fails before any resource exists.
import { loadConfig } from "./stacks/config";
import { composeHomelab } from "./stacks/compose";

const config = loadConfig();
const lab = composeHomelab(config);

export const nodes = lab.nodes;
export const vip = lab.vip;
export const apiEndpoint = lab.apiEndpoint;
export const kubeconfig = lab.kubeconfig;
export const podCidr = lab.podCidr;
export const storageClasses = lab.storageClasses;
