// Pure renderers for KubeadmCluster: the scripts that init, join, delete the join secrets, read the
// kubeconfig and set graceful shutdown (packages.ts installs, reset.ts resets). Secrets come in on
// stdin and never reach the output.
import { createHash } from "crypto";
import { RETRY_FUNCTION, script, shellQuote, writeFileIfChanged } from "../script";
import { plainVersion } from "../version";
import { ADMIN_KUBECONFIG, KUBECTL_FUNCTION } from "../kubectl";
import {
    CERTIFICATE_KEY_PLACEHOLDER, ClusterNode, ClusterSpec, controlPlanesOf, CRI_SOCKET, endpointOf, GracefulShutdown, gracefulShutdownFields,
    renderInitConfig, renderJoinConfig, TOKEN_PLACEHOLDER,
} from "./config";

export const CONFIG_DIR = "/etc/homelab/kubeadm";
const CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane";
const TOKEN_DESCRIPTION = "homelab: joins of the nodes in the stack config";

/** Reads the bootstrap token (and the certificate key) from stdin and defines hide_secrets. */
function secretsSection(withCertificateKey: boolean): string {
    const key = withCertificateKey
        ? `IFS= read -r certificate_key || true
if ! [[ "$certificate_key" =~ ^[0-9a-f]{64}$ ]]; then
  echo "stdin did not carry a certificate key (64 hex digits)" >&2
  exit 1
fi`
        : `certificate_key=""`;
    return `# secrets arrive on stdin, never in the command line; hide_secrets masks them in kubeadm's output
IFS= read -r bootstrap_token || true
if ! [[ "$bootstrap_token" =~ ^[a-z0-9]{6}\\.[a-z0-9]{16}$ ]]; then
  echo "stdin did not carry a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})" >&2
  exit 1
fi
${key}
hide_secrets() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line=\${line//"$bootstrap_token"/[bootstrap token]}
    line=\${line//"\${bootstrap_token#*.}"/[token secret]}
    if [ -n "$certificate_key" ]; then line=\${line//"$certificate_key"/[certificate key]}; fi
    printf '%s\\n' "$line"
  done
}`;
}

/** Writes the config with placeholders to `path` and a filled, root-only copy to $kubeadm_config. */
function configSection(path: string, template: string): string {
    return `# the file on disk keeps placeholders; the filled copy is root-only and gone on exit
CHANGED=0
${writeFileIfChanged(path, template, "644")}
if [ "$CHANGED" = 1 ]; then echo "${path} written"; fi
kubeadm_config=$(mktemp)
trap 'rm -f "$kubeadm_config"' EXIT
config_text=$(cat ${path})
config_text=\${config_text//${TOKEN_PLACEHOLDER}/$bootstrap_token}
config_text=\${config_text//${CERTIFICATE_KEY_PLACEHOLDER}/$certificate_key}
printf '%s\\n' "$config_text" > "$kubeadm_config"`;
}

function failAndReset(what: string, hostname: string, indent: string): string {
    return [
        `echo "${what} failed on ${hostname}; resetting so that the next run starts clean" >&2`,
        `kubeadm reset -f --cri-socket ${CRI_SOCKET} >/dev/null 2>&1 || true`,
        "exit 1",
    ].map((line) => `${indent}${line}`).join("\n");
}

function taintSection(spec: ClusterSpec): string {
    if (!spec.scheduleOnControlPlanes) {
        return `# control planes run no workloads
retry 10 6 kc taint nodes -l ${CONTROL_PLANE_TAINT} ${CONTROL_PLANE_TAINT}:NoSchedule --overwrite >/dev/null`;
    }
    return `# control planes run workloads too: a small lab has few or no other nodes
control_planes=$(retry 10 6 kc get nodes -l ${CONTROL_PLANE_TAINT} -o name)
for node in $control_planes; do
  if kc get "$node" -o jsonpath='{.spec.taints[*].key}' | grep -w ${CONTROL_PLANE_TAINT} >/dev/null; then
    kc taint "$node" ${CONTROL_PLANE_TAINT}:NoSchedule-
  fi
done`;
}

/**
 * Written once kubeadm init has completed every phase (admin.conf alone is written early, before the
 * uploads and addons), or once a control plane that joined took over as the first one listed: the
 * node can carry the cluster's steps (pre-join, admissions, departures).
 */
export const INIT_DONE = "/etc/kubernetes/homelab-init.done";
/** Written once kubeadm join has completed (kubelet.conf alone is written before the node is registered). */
export const JOIN_DONE = "/etc/kubernetes/homelab-join.done";
/** How long a cut-short init or join is given to come up before it is completed or redone. */
const SETTLE_TRIES = 12;
const SETTLE_SECONDS = 10;
/** A cut-short init whose control plane starts from its static pods again: etcd, then the API (kubeadm itself waits 4 minutes). */
const INIT_START_TRIES = 30;

/**
 * What `kubeadm init` writes after admin.conf and before its control plane can answer, in its order,
 * with the phase that writes each: an init killed soon after admin.conf leaves some unwritten, and
 * its control plane never starts. Each phase writes only its own file.
 */
const INIT_FILES_BEFORE_API: { file: string; phase: string }[] = [
    { file: "/etc/kubernetes/super-admin.conf", phase: "kubeconfig super-admin" },
    { file: "/etc/kubernetes/kubelet.conf", phase: "kubeconfig kubelet" },
    { file: "/etc/kubernetes/controller-manager.conf", phase: "kubeconfig controller-manager" },
    { file: "/etc/kubernetes/scheduler.conf", phase: "kubeconfig scheduler" },
    { file: "/etc/kubernetes/manifests/etcd.yaml", phase: "etcd local" },
    { file: "/etc/kubernetes/manifests/kube-apiserver.yaml", phase: "control-plane apiserver" },
    { file: "/etc/kubernetes/manifests/kube-controller-manager.yaml", phase: "control-plane controller-manager" },
    { file: "/etc/kubernetes/manifests/kube-scheduler.yaml", phase: "control-plane scheduler" },
    // kubeadm-flags.env, then config.yaml, then a restart of the kubelet
    { file: "/var/lib/kubelet/config.yaml", phase: "kubelet-start" },
];

/**
 * The phases of `kubeadm init` after the control plane is up, in kubeadm's order: each is safe to run
 * again. Those with a --kubeconfig flag (`kubeadm init phase <phase> --help`) are given super-admin.conf;
 * mark-control-plane and kubelet-finalize have none and refuse it ("unknown flag"): they use admin.conf,
 * whose group kubeadm binds through super-admin.conf itself.
 */
const INIT_PHASES_AFTER_API: { phase: string; takesKubeconfig: boolean }[] = [
    { phase: "upload-config all", takesKubeconfig: true },
    { phase: "upload-certs --upload-certs", takesKubeconfig: true },
    { phase: "mark-control-plane", takesKubeconfig: false },
    { phase: "bootstrap-token", takesKubeconfig: true },
    { phase: "kubelet-finalize all", takesKubeconfig: false },
    { phase: "addon all", takesKubeconfig: true },
];

/** `kubeadm init` on the first control plane, once, completed if it was cut short; then the control-plane taint as configured. */
export function renderInitScript(spec: ClusterSpec, node: ClusterNode): string {
    // super-admin.conf (system:masters, on this node only) works before kubeadm has bound admin.conf's group
    const superAdmin = "kubectl --kubeconfig /etc/kubernetes/super-admin.conf";
    return script(
        RETRY_FUNCTION,
        KUBECTL_FUNCTION,
        secretsSection(true),
        configSection(`${CONFIG_DIR}/init.yaml`, renderInitConfig(spec, node)),
        `# done means every phase completed: ${INIT_DONE}, written after them, with admin.conf still there
# (a kubeadm reset by hand removes admin.conf, and the record with it goes stale)
if [ -f ${INIT_DONE} ] && [ ! -f ${ADMIN_KUBECONFIG} ]; then rm -f ${INIT_DONE}; fi
api_answers() { ${superAdmin} --request-timeout=10s get --raw /readyz >/dev/null 2>&1; }
if [ -f ${INIT_DONE} ]; then
  echo "${node.hostname} is already initialised; changed kubeadm settings are not applied to a running cluster"
elif [ -f ${JOIN_DONE} ] && [ -f ${ADMIN_KUBECONFIG} ]; then
  # a control plane that joined, listed first now (the one before it is gone, or was moved after it): it
  # takes over the first control plane's steps, which need super-admin.conf, and only init writes that
  if [ ! -s /etc/kubernetes/super-admin.conf ]; then
    kubeadm init phase kubeconfig super-admin --config "$kubeadm_config" 2>&1 | hide_secrets
  fi
  retry ${SETTLE_TRIES} ${SETTLE_SECONDS} api_answers || { echo "${node.hostname} joined the cluster as a control plane, but its API does not answer; it cannot take over the first control plane's steps" >&2; exit 1; }
  touch ${INIT_DONE}
  echo "${node.hostname} joined the cluster as a control plane and is the first listed now: it takes over the steps of the first control plane"
elif [ -f ${ADMIN_KUBECONFIG} ]; then
  # admin.conf without the record: an init cut short after its kubeconfig phase (the uploads, the token
  # and the addons may be missing), or a cluster built before the record existed. The addons are
  # kubeadm's last phase: when they exist, every phase ran.
  # Files that exist are left as they are (a running cluster is not changed); a missing one is written
  # by its phase, and the kubelet then starts the control plane from its static pods.
  write_if_missing() {
    local file=$1; shift
    [ -s "$file" ] && return 0
    echo "kubeadm init on ${node.hostname} was cut short before writing $file: kubeadm init phase $*"
    kubeadm init phase "$@" --config "$kubeadm_config" 2>&1 | hide_secrets
  }
${INIT_FILES_BEFORE_API.map(({ file, phase }) => `  write_if_missing ${file} ${phase}`).join("\n")}
  systemctl is-active --quiet kubelet || systemctl start kubelet
  retry ${INIT_START_TRIES} ${SETTLE_SECONDS} api_answers || { echo "${node.hostname} has ${ADMIN_KUBECONFIG} from an init that did not complete, and its API does not answer; if this cluster holds nothing yet, run 'sudo kubeadm reset -f' on ${node.hostname} and pulumi up again" >&2; exit 1; }
  if ${superAdmin} -n kube-system get deployment coredns >/dev/null 2>&1 && ${superAdmin} -n kube-system get daemonset kube-proxy >/dev/null 2>&1; then
    echo "${node.hostname} was initialised before (its addons exist)"
  else
    echo "kubeadm init on ${node.hostname} was cut short: running its remaining phases"
${INIT_PHASES_AFTER_API.map(({ phase, takesKubeconfig }) => `    retry 3 10 kubeadm init phase ${phase} --config "$kubeadm_config"${takesKubeconfig ? " --kubeconfig /etc/kubernetes/super-admin.conf" : ""} 2>&1 | hide_secrets`).join("\n")}
  fi
  touch ${INIT_DONE}
else
  # a cluster that already answers (this machine replaced, or its record lost): kubeadm init here would
  # start a second, empty cluster beside it, and everything after would be applied to that one
  for endpoint in ${[endpointOf(spec), ...controlPlanesOf(spec).filter((other) => other.hostname !== node.hostname).map((other) => `${other.internalAddress}:${spec.controlPlaneEndpoint.port}`)].join(" ")}; do
    if curl -ksf --max-time 5 "https://$endpoint/version" >/dev/null 2>&1; then
      echo "refusing kubeadm init on ${node.hostname}: a Kubernetes API already answers at $endpoint, so the cluster runs without ${node.hostname}'s record of its init, and an init here would start a second, empty cluster. If ${node.hostname} is a new machine in place of the first control plane, it has to join that cluster as the others did: in homelab:nodes, list another control plane first and ${node.hostname} after it, run 'npm run forget-node -- --replaced ${node.hostname}', then pulumi up. If that cluster is an old one to discard, run 'sudo kubeadm reset -f' on its nodes first. Nothing was changed on ${node.hostname}" >&2
      exit 1
    fi
  done
  kubeadm config validate --config "$kubeadm_config" 2>&1 | hide_secrets
${spec.imagesPreloaded ? "" : `  # pulling the images is the slow, flaky part
  retry 5 15 kubeadm config images pull --config "$kubeadm_config" 2>&1 | hide_secrets
`}  if ! kubeadm init --config "$kubeadm_config" --upload-certs --skip-token-print --skip-certificate-key-print 2>&1 | hide_secrets; then
${failAndReset("kubeadm init", node.hostname, "    ")}
  fi
  touch ${INIT_DONE}
  echo "${node.hostname} initialised cluster ${spec.clusterName} (Kubernetes v${plainVersion(spec.version)}, API at ${endpointOf(spec)})"
fi`,
        taintSection(spec),
    );
}

/** What kubeadm's upload-certs phase writes into the description of the token it makes to own kubeadm-certs. */
export const UPLOAD_CERTS_TOKEN_DESCRIPTION = "Proxy for managing TTL for the kubeadm-certs secret";

/** Bash that creates the bootstrap token as kubeadm does, from stdin to kubectl: the token is never in a command line. Needs secretsSection. */
function bootstrapTokenSection(): string {
    return `# tokens expire after 24 h and a node may join months after init: keep one valid for 2 h more
token_id=\${bootstrap_token%%.*}
expiration=$(kc -n kube-system get secret "bootstrap-token-$token_id" -o jsonpath='{.data.expiration}' 2>/dev/null | base64 -d 2>/dev/null || true)
if [ -n "$expiration" ] && [ "$(date -d "$expiration" +%s)" -gt "$(( $(date +%s) + 7200 ))" ]; then
  echo "bootstrap token $token_id is valid until $expiration"
else
  # the Secret kubeadm token create would make; a here-document goes to kubectl's stdin, so neither
  # the token nor its secret half is in any command line
  create_token() {
    kc apply -f - >/dev/null <<HOMELAB_TOKEN
apiVersion: v1
kind: Secret
type: bootstrap.kubernetes.io/token
metadata:
  name: bootstrap-token-$token_id
  namespace: kube-system
stringData:
  description: ${JSON.stringify(TOKEN_DESCRIPTION)}
  token-id: $token_id
  token-secret: \${bootstrap_token#*.}
  expiration: $(date -u -d '+24 hours' +%Y-%m-%dT%H:%M:%SZ)
  usage-bootstrap-authentication: "true"
  usage-bootstrap-signing: "true"
  auth-extra-groups: system:bootstrappers:kubeadm:default-node-token
HOMELAB_TOKEN
  }
  retry 5 10 create_token
  echo "bootstrap token $token_id created, valid for 24 h"
fi`;
}

/** Run on the init node before joins: a live bootstrap token and freshly uploaded control-plane certificates. */
export function renderPrejoinScript(spec: ClusterSpec, node: ClusterNode, joining: { hostname: string; machine: string }[] = []): string {
    return script(
        ...(joining.length > 0 ? [`# for the joins of ${joining.map((each) => `${each.hostname} (machine ${each.machine.slice(0, 12)})`).join(", ")}: a machine put in place of another runs this again`] : []),
        RETRY_FUNCTION,
        KUBECTL_FUNCTION,
        secretsSection(true),
        `[ -f ${INIT_DONE} ] || { echo "${node.hostname} has not completed kubeadm init" >&2; exit 1; }`,
        bootstrapTokenSection(),
        configSection(`${CONFIG_DIR}/init.yaml`, renderInitConfig(spec, node)),
        `# the control-plane certificates in the cluster expire after 2 h: upload them again under the same key,
# which the filled config carries (not the command line). With the default kubeconfig this phase first
# re-bootstraps admin.conf against an API address it guesses from the default route (the management NIC
# here), which can hang; super-admin.conf (written by init, on this node only) talks to the VIP.
retry 5 10 kubeadm init phase upload-certs --upload-certs --config "$kubeadm_config" --kubeconfig /etc/kubernetes/super-admin.conf 2>&1 | hide_secrets`,
    );
}

/**
 * Run on the init node once every node has joined: the bootstrap token and the uploaded
 * control-plane keys are deleted, so neither outlives the joins (the next join's pre-join step
 * makes them again). Its text names `prejoinScript`'s digest, so that a change of the pre-join
 * step (which then runs again, e.g. for a new kubernetes.version) runs this again too.
 */
export function renderJoinSecretsCleanupScript(prejoinScript: string): string {
    return script(
        RETRY_FUNCTION,
        KUBECTL_FUNCTION,
        secretsSection(false),
        `# runs again whenever the pre-join step does (its script ${createHash("sha256").update(prejoinScript).digest("hex").slice(0, 16)}): that step makes the secrets again
token_id=\${bootstrap_token%%.*}
# the token's id is the public half of it (the name of its Secret); the secret half stays on stdin
retry 5 10 kc -n kube-system delete secret "bootstrap-token-$token_id" --ignore-not-found >/dev/null
retry 5 10 kc -n kube-system delete secret kubeadm-certs --ignore-not-found >/dev/null
# kubeadm's upload-certs makes a short-lived token of its own, whose only use is to own kubeadm-certs
# (its TTL); deleting kubeadm-certs leaves it behind, so it goes too
proxies=$(kc -n kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token \\
  -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.data.description}{"\\n"}{end}' | while read -r name description; do
  if [ "$(base64 -d <<<"$description" 2>/dev/null)" = ${shellQuote(UPLOAD_CERTS_TOKEN_DESCRIPTION)} ]; then echo "$name"; fi
done)
for secret in $proxies; do retry 5 10 kc -n kube-system delete secret "$secret" --ignore-not-found >/dev/null; done
echo "every node has joined: bootstrap token $token_id, the uploaded control-plane certificates and the tokens that owned them deleted"`,
    );
}

/** `kubeadm join` of one node (control planes with --control-plane semantics via the config), once, redone if it was cut short. */
export function renderJoinScript(spec: ClusterSpec, node: ClusterNode, caCertHash: string): string {
    const controlPlane = node.role === "control-plane";
    const asNode = `kubectl --kubeconfig /etc/kubernetes/kubelet.conf --request-timeout=10s get node ${shellQuote(node.hostname)}`;
    // mark-control-plane is a control-plane join's last phase; a worker's is the kubelet's registration
    const joinedCheck = controlPlane
        ? `joined() { ${asNode} -o jsonpath='{.metadata.labels}' 2>/dev/null | grep -F '"node-role.kubernetes.io/control-plane"' >/dev/null && curl -ksf --max-time 10 https://127.0.0.1:${spec.controlPlaneEndpoint.port}/readyz >/dev/null; }`
        : `joined() { ${asNode} -o name >/dev/null 2>&1; }`;
    return script(
        RETRY_FUNCTION,
        secretsSection(controlPlane),
        `# done means the join completed: ${JOIN_DONE}, written after it, with kubelet.conf still there
if [ -f ${JOIN_DONE} ] && [ ! -f /etc/kubernetes/kubelet.conf ]; then rm -f ${JOIN_DONE}; fi
if [ -f ${JOIN_DONE} ]; then
  echo "${node.hostname} has already joined the cluster"
  exit 0
fi
if [ -f /etc/kubernetes/kubelet.conf ]; then
  # kubelet.conf without the record: a join cut short, or one made before the record existed
  ${joinedCheck}
  if retry ${SETTLE_TRIES} ${SETTLE_SECONDS} joined; then
    touch ${JOIN_DONE}
    echo "${node.hostname} had joined the cluster before"
    exit 0
  fi
  echo "the last kubeadm join on ${node.hostname} did not complete: resetting it and joining again" >&2
  kubeadm reset -f --cri-socket ${CRI_SOCKET} >/dev/null 2>&1 || true
fi
ca_cert_hash=${shellQuote(caCertHash)}
if ! [[ "$ca_cert_hash" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "no CA certificate hash from the admin kubeconfig (got '$ca_cert_hash')" >&2
  exit 1
fi`,
        configSection(`${CONFIG_DIR}/join.yaml`, renderJoinConfig(spec, node, caCertHash)),
        controlPlane && !spec.imagesPreloaded
            ? `# pulling the control-plane images is the slow, flaky part
retry 5 15 kubeadm config images pull --kubernetes-version v${plainVersion(spec.version)} --cri-socket ${CRI_SOCKET}`
            : "",
        `if ! kubeadm join --config "$kubeadm_config" 2>&1 | hide_secrets; then
${failAndReset("kubeadm join", node.hostname, "  ")}
fi
touch ${JOIN_DONE}
echo "${node.hostname} joined the cluster as ${controlPlane ? "a control plane" : "a worker"}"`,
    );
}

function regexEscape(text: string): string {
    return text.replace(/[.[\]()*+?^$|\\{}]/g, "\\$&");
}

/** Prints admin.conf (the caller marks stdout secret) after checking that it points at the VIP. */
export function renderKubeconfigScript(spec: ClusterSpec): string {
    const server = `https://${endpointOf(spec)}`;
    return script(`# the admin kubeconfig, pointing at the VIP so it outlives any one node
if [ ! -f ${ADMIN_KUBECONFIG} ]; then
  echo "${ADMIN_KUBECONFIG} does not exist: the cluster is not initialised" >&2
  exit 1
fi
if ! grep -Eq ${shellQuote(`^[[:space:]]*server: ${regexEscape(server)}$`)} ${ADMIN_KUBECONFIG}; then
  echo "${ADMIN_KUBECONFIG} does not point at ${server}; was the cluster initialised with another controlPlaneEndpoint?" >&2
  exit 1
fi
cat ${ADMIN_KUBECONFIG}`);
}

/**
 * Graceful node shutdown on a node that joined before it was configured (init and join write it
 * from the start): the fields in the kubelet's configuration, and a restart of the kubelet when
 * they changed. The kubelet itself raises logind's InhibitDelayMaxSec to the period (a drop-in of
 * its own), so that a shutdown, by `power: off` or by hand, waits for the pods to stop.
 */
export function renderGracefulShutdownScript(hostname: string, shutdown: GracefulShutdown): string {
    const fields = Object.entries(gracefulShutdownFields(shutdown));
    return script(`config=/var/lib/kubelet/config.yaml
[ -f "$config" ] || { echo "$config does not exist: ${hostname} has not joined the cluster" >&2; exit 1; }
changed=""
# set_field KEY VALUE: a top-level field of the kubelet's configuration, replaced or added
set_field() {
  if grep -Fx "$1: $2" "$config" >/dev/null; then return 0; fi
  if grep -E "^$1:" "$config" >/dev/null; then sed -i -E "s|^$1:.*|$1: $2|" "$config"; else printf '%s: %s\\n' "$1" "$2" >> "$config"; fi
  changed="$changed $1=$2"
}
${fields.map(([key, value]) => `set_field ${key} ${shellQuote(value)}`).join("\n")}
if [ -n "$changed" ]; then
  systemctl restart kubelet
  echo "graceful node shutdown on ${hostname}:$changed (kubelet restarted)"
else
  echo "graceful node shutdown is configured on ${hostname} (${fields.map(([key, value]) => `${key} ${value}`).join(", ")})"
fi`);
}
