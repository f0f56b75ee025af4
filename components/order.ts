// How components follow one another, one way for all (stacks/compose.ts is the chain):
// - a component's args take `after`: what every one of its steps waits for;
// - where one node's steps may start before the others', that node's entry takes its own `after`;
// - every component exposes `ready: Resource[]`, complete when all of it is, and where a later
//   component needs one node's part only, a per-node map of Resource[] (e.g. KubeadmCluster's
//   runtimeReadyOn).
// Nothing is ordered through a component's own dependsOn, which would hold every child back.
import * as pulumi from "@pulumi/pulumi";

export interface Follows {
    /** What these steps wait for, e.g. vip.ready; compose.ts says why at each edge. */
    after?: pulumi.Resource[];
}
