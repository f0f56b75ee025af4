// Pure renderers for PacemakerVip: corosync.conf, the node and cluster scripts.
import * as ipaddr from "ipaddr.js";
import { ArgProblem } from "../problems";
import { APT_FUNCTION, IS_ONE_OF_FUNCTION, RETRY_FUNCTION, script, shellQuote, writeFileIfChanged } from "../script";

export interface ClusterMember {
    /** e.g. home-server-1 */
    hostname: string;
    /** Address corosync talks on, e.g. 10.0.0.101. */
    address: string;
}

export interface VipSettings {
    clusterName: string;
    members: ClusterMember[];
    /** e.g. 10.0.0.100 */
    vip: string;
    /** Prefix length of the internal network, e.g. 24. */
    prefixLength: number;
    /** Interface the VIP goes on, e.g. enp3s0.2. */
    interfaceName: string;
    stonithEnabled: boolean;
    resourceStickiness: number;
    /** e.g. 5s */
    monitorInterval: string;
    migrationThreshold: number;
    /** e.g. 60s */
    failureTimeout: string;
    /** How long the agent may take for start, stop and monitor, e.g. 20s (Pacemaker's default). */
    operationTimeout: string;
    /** When set, the VIP prefers nodes where this URL answers (the Kubernetes API), e.g. https://127.0.0.1:6443/readyz */
    healthCheckUrl?: string;
}

export const RESOURCE_NAME = "kube-api-vip";
export const HEALTH_ATTRIBUTE = "homelab-api-healthy";
export const AUTHKEY_BYTES = 256;
export const AUTHKEY_PATH = "/etc/corosync/authkey";
/**
 * The VIP prefers the first member while no API answers anywhere (kubeadm init runs there),
 * by less than the stickiness: once the VIP has moved away, a returning first member does not
 * pull it back and cause a second interruption.
 */
export function firstMemberScore(resourceStickiness: number): number {
    return Math.max(1, Math.floor(resourceStickiness / 2));
}
/** Larger than any stickiness plus the first-member preference a lab would set, so a healthy API always wins. */
const HEALTHY_SCORE = 1000;

type CorosyncValue = string | number | CorosyncSection | CorosyncSection[];
interface CorosyncSection { [key: string]: CorosyncValue }

/**
 * A member's corosync node id: the host part of its address in the internal network (10.0.0.101/24
 * gives 101), 16 bits at most. It follows the member, not its place in the list, so that a member
 * taken out or added leaves every other member's id as it was: corosync can then reload the new
 * membership, where a changed id needs a restart of that member (and its Pacemaker node entry).
 */
export function nodeIdOf(address: string, prefixLength: number): number {
    const bits = ipaddr.IPv4.parse(address).toByteArray().reduce((value, byte) => value * 256 + byte, 0);
    const hostBits = Math.min(32 - prefixLength, 16);
    return bits % 2 ** hostBits;
}

/** Members whose node ids would be 0 or shared (only possible in networks larger than /16). */
export function memberProblems(settings: Pick<VipSettings, "members" | "prefixLength">): ArgProblem[] {
    const problems: ArgProblem[] = [];
    const seen = new Map<number, number>();
    settings.members.forEach((member, index) => {
        const id = nodeIdOf(member.address, settings.prefixLength);
        const first = seen.get(id);
        if (id === 0) {
            problems.push({ arg: `members[${index}].address`, value: member.address, message: `gives corosync node id 0 (its host part in a /${settings.prefixLength}, 16 bits at most), which corosync refuses; expected an address whose last 16 bits are not all zero` });
        } else if (first !== undefined) {
            problems.push({ arg: `members[${index}].address`, value: member.address, message: `gives corosync node id ${id}, as members[${first}].address does (the last 16 bits of each); expected addresses that differ in their last 16 bits` });
        } else {
            seen.set(id, index);
        }
    });
    return problems;
}

/** corosync.conf has no library: this is its grammar (nested `name { key: value }` sections), kept in one small function. */
export function formatCorosync(section: CorosyncSection, indent = ""): string {
    const lines: string[] = [];
    for (const [key, value] of Object.entries(section)) {
        const items = Array.isArray(value) ? value : [value];
        for (const item of items) {
            if (typeof item === "object") lines.push(`${indent}${key} {`, formatCorosync(item, `${indent}    `), `${indent}}`);
            else lines.push(`${indent}${key}: ${item}`);
        }
    }
    return lines.join("\n");
}

/**
 * The members in node id order, not the config's: listing them in another order (another control
 * plane first) leaves corosync.conf, and so every member, as it was.
 */
function membersByNodeId(settings: Pick<VipSettings, "members" | "prefixLength">): VipSettings["members"] {
    return [...settings.members].sort((a, b) => nodeIdOf(a.address, settings.prefixLength) - nodeIdOf(b.address, settings.prefixLength));
}

export function renderCorosyncConf(settings: Pick<VipSettings, "clusterName" | "members" | "prefixLength">): string {
    const quorum: CorosyncSection = { provider: "corosync_votequorum" };
    if (settings.members.length === 2) quorum.two_node = 1;
    return "# Managed by homelab (PacemakerVip); identical on every member.\n" + formatCorosync({
        totem: { version: 2, cluster_name: settings.clusterName, transport: "knet", crypto_cipher: "aes256", crypto_hash: "sha256", keyfile: AUTHKEY_PATH },
        nodelist: { node: membersByNodeId(settings).map((member) => ({ ring0_addr: member.address, name: member.hostname, nodeid: nodeIdOf(member.address, settings.prefixLength) })) },
        quorum,
        logging: { to_logfile: "yes", logfile: "/var/log/corosync/corosync.log", to_syslog: "yes", timestamp: "on" },
    }) + "\n";
}

export const HEALTH_SCRIPT_PATH = "/usr/local/libexec/homelab-api-health";
const HEALTH_UNIT_PATH = "/etc/systemd/system/homelab-api-health.service";
/** Probes in a row that must fail before the node counts as unhealthy; one success makes it healthy again. */
export const HEALTH_MISSES = 3;
const HEALTH_INTERVAL_SECONDS = 3;
const HEALTH_TIMEOUT_SECONDS = 5;

/**
 * The loop that reports this node's API health as a transient node attribute, which the VIP's
 * location rule reads. A node counts as unhealthy only after several failed probes in a row: in
 * the lab, on a busy host, single slow answers flipped the attribute on every node and moved the
 * VIP back and forth, each move a few seconds without an API. A node that loses power is noticed
 * by corosync, not by this loop, so the debounce slows only the case of a dead API server on a live node.
 */
export function renderHealthScript(healthCheckUrl: string): string {
    return script(
        `misses=0
while true; do
  if curl -ksf --max-time ${HEALTH_TIMEOUT_SECONDS} ${shellQuote(healthCheckUrl)} >/dev/null 2>&1; then
    misses=0
    attrd_updater -n ${HEALTH_ATTRIBUTE} -U 1 -d 2s || true
  else
    misses=$((misses + 1))
    if [ "$misses" -ge ${HEALTH_MISSES} ]; then attrd_updater -n ${HEALTH_ATTRIBUTE} -U 0 -d 2s || true; fi
  fi
  sleep ${HEALTH_INTERVAL_SECONDS}
done`,
    );
}

export function renderHealthService(): string {
    return `[Unit]
Description=homelab: report Kubernetes API health to Pacemaker
After=pacemaker.service
Requires=pacemaker.service

[Service]
ExecStart=${HEALTH_SCRIPT_PATH}
Restart=always

[Install]
WantedBy=multi-user.target
`;
}

/** Per member, alongside the others: corosync, pacemaker, pcs and the IPaddr2 agent. */
export function renderPackagesScript(): string {
    return script(
        RETRY_FUNCTION,
        APT_FUNCTION,
        `# corosync, pacemaker, pcs and the IPaddr2 agent (resource-agents, split into -base on some releases);
# a package a killed run left half-configured is finished first, and only fully installed ones count
dpkg_ready
if ! packages_installed corosync pacemaker pacemaker-cli-utils pcs curl || { ! packages_installed resource-agents && ! packages_installed resource-agents-base; } ||
  [ ! -x /usr/lib/ocf/resource.d/heartbeat/IPaddr2 ]; then
  apt_get update -q
  agents=resource-agents
  if apt-cache policy resource-agents-base 2>/dev/null | grep -E 'Candidate: [0-9]' >/dev/null; then agents=resource-agents-base; fi
  apt_get install -y -q --no-install-recommends corosync pacemaker pacemaker-cli-utils pcs curl "$agents"
  echo "cluster packages installed"
fi`,
        `# the pcs command line works without its web daemon, which would only listen on another port;
# its Ruby half (Puma) sometimes hangs on stop and holds up a power-off by 90 s
for unit in pcsd pcsd-ruby; do
  if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  fi
done`,
    );
}

/** How long a member that restarted waits to be back in a quorate membership before the next member may restart. */
const REJOIN_TIMEOUT_SECONDS = 120;

/**
 * Per member, one member at a time (each waits for the one before it): the shared authkey (from
 * stdin, base64) and corosync.conf in place, the services running.
 *
 * A new membership alone restarts nothing: every member writes the new corosync.conf, and the
 * cluster step then has corosync reload it everywhere at once (renderClusterScript). Only what
 * corosync cannot reload, a new key or a new identity of this member (its node id, the cluster's
 * name), restarts this member, and then it waits to be back in a quorate membership, so that the
 * next member's restart never leaves the cluster without quorum.
 */
export function renderMemberScript(settings: VipSettings, hostname: string): string {
    const member = settings.members.find((candidate) => candidate.hostname === hostname);
    if (!member) throw new Error(`${hostname} is not a member of ${settings.clusterName} (members: ${settings.members.map((candidate) => candidate.hostname).join(", ")})`);
    const nodeId = nodeIdOf(member.address, settings.prefixLength);
    const health = settings.healthCheckUrl
        ? `CHANGED=0
${writeFileIfChanged(HEALTH_SCRIPT_PATH, renderHealthScript(settings.healthCheckUrl), "755")}
${writeFileIfChanged(HEALTH_UNIT_PATH, renderHealthService(), "644")}
if [ "$CHANGED" = 1 ]; then systemctl daemon-reload; systemctl restart homelab-api-health; fi
systemctl enable --now homelab-api-health >/dev/null 2>&1`
        : `# no API health check configured
if [ -f ${HEALTH_UNIT_PATH} ]; then
  systemctl disable --now homelab-api-health >/dev/null 2>&1 || true
  rm -f ${HEALTH_UNIT_PATH} ${HEALTH_SCRIPT_PATH}
  systemctl daemon-reload
fi`;
    return script(
        RETRY_FUNCTION,
        `# the cluster's shared key arrives on stdin, base64-encoded, and is never printed
restart=0
authkey_new=$(mktemp)
chmod 400 "$authkey_new"
base64 -d > "$authkey_new"
[ "$(stat -c %s "$authkey_new")" -eq ${AUTHKEY_BYTES} ] || { echo "authkey on stdin is not ${AUTHKEY_BYTES} bytes" >&2; rm -f "$authkey_new"; exit 1; }
if ! cmp -s "$authkey_new" ${AUTHKEY_PATH}; then
  install -m 400 -o root -g root "$authkey_new" ${AUTHKEY_PATH}
  restart=1
fi
rm -f "$authkey_new"`,
        `# the same corosync.conf on every member; a new membership in it is reloaded by the cluster step
CHANGED=0
${writeFileIfChanged("/etc/corosync/corosync.conf", renderCorosyncConf(settings), "644")}
if [ "$CHANGED" = 1 ]; then echo "corosync.conf written: members ${membersByNodeId(settings).map((candidate) => candidate.hostname).join(", ")}"; fi
corosync -t >/dev/null 2>&1 || { corosync -t >&2 || true; echo "corosync rejects /etc/corosync/corosync.conf" >&2; exit 1; }`,
        `# services: what corosync cannot reload (a new key, this member's node id or the cluster's name) restarts this member alone
cmap_value() { corosync-cmapctl -g "$1" 2>/dev/null | sed -n 's/^[^=]* = //p'; }
systemctl enable corosync pacemaker >/dev/null 2>&1
rejoin=0
if systemctl is-active --quiet corosync; then
  running_id=$(cmap_value runtime.votequorum.this_node_id)
  running_cluster=$(cmap_value totem.cluster_name)
  if [ "$running_id" != ${nodeId} ] || [ "$running_cluster" != ${shellQuote(settings.clusterName)} ]; then
    echo "${hostname} runs as node \${running_id:-?} of cluster \${running_cluster:-?}; node ${nodeId} of ${settings.clusterName} is wanted"
    restart=1
  fi
  if [ "$restart" = 1 ]; then
    echo "restarting corosync and pacemaker on ${hostname} (the other members keep running)"
    systemctl stop pacemaker corosync
    # a member of this cluster comes back to it; one of another (the one-node cluster Debian's package
    # starts on install) has nothing to come back to
    if [ "$running_cluster" = ${shellQuote(settings.clusterName)} ]; then rejoin=1; fi
  fi
fi
systemctl start corosync pacemaker
systemctl is-active --quiet corosync || { echo "corosync is not running" >&2; exit 1; }`,
        `# after a restart of a member of this cluster, back in a quorate membership before the next member
# may restart; members that restart for new node ids find each other only as they restart too, so
# this wait is bounded and only reported
quorate() { corosync-quorumtool -s 2>/dev/null | grep -E '^Quorate:[[:space:]]+Yes' >/dev/null; }
if [ "$rejoin" = 1 ]; then
  if retry ${REJOIN_TIMEOUT_SECONDS / 2} 2 quorate 2>/dev/null; then echo "${hostname} is back in a quorate membership"; else echo "${hostname} is not in a quorate membership yet (${REJOIN_TIMEOUT_SECONDS} s); the members after it restart next"; fi
fi`,
        health,
    );
}

/** A small XML element writer: attribute values are escaped, so rendered CIB fragments are well-formed. */
export function xml(name: string, attributes: Record<string, string | number>, children: string[] = []): string {
    const escape = (value: string | number) => String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
    const attrs = Object.entries(attributes).map(([key, value]) => ` ${key}="${escape(value)}"`).join("");
    return children.length === 0 ? `<${name}${attrs}/>` : `<${name}${attrs}>${children.join("")}</${name}>`;
}

function nvpairs(id: string, pairs: Record<string, string | number>): string[] {
    return Object.entries(pairs).map(([name, value]) => xml("nvpair", { id: `${id}-${name}`, name, value }));
}

/** The VIP as a CIB primitive: the seed's `pcs resource create ... IPaddr2` in the form cibadmin applies idempotently. */
export function renderVipPrimitive(settings: VipSettings): string {
    return xml("primitive", { id: RESOURCE_NAME, class: "ocf", provider: "heartbeat", type: "IPaddr2" }, [
        xml("instance_attributes", { id: `${RESOURCE_NAME}-instance_attributes` }, nvpairs(`${RESOURCE_NAME}-instance_attributes`, { ip: settings.vip, cidr_netmask: settings.prefixLength, nic: settings.interfaceName })),
        xml("meta_attributes", { id: `${RESOURCE_NAME}-meta_attributes` }, nvpairs(`${RESOURCE_NAME}-meta_attributes`, { "migration-threshold": settings.migrationThreshold, "failure-timeout": settings.failureTimeout })),
        xml("operations", {}, [
            xml("op", { id: `${RESOURCE_NAME}-monitor`, name: "monitor", interval: settings.monitorInterval, timeout: settings.operationTimeout }),
            xml("op", { id: `${RESOURCE_NAME}-start`, name: "start", interval: "0s", timeout: settings.operationTimeout }),
            xml("op", { id: `${RESOURCE_NAME}-stop`, name: "stop", interval: "0s", timeout: settings.operationTimeout }),
        ]),
    ]);
}

/** Placement: the first member while no API answers anywhere, then only members whose API is healthy. */
export function renderVipConstraints(settings: VipSettings): string[] {
    const preferFirst = xml("rsc_location", { id: `${RESOURCE_NAME}-prefers-first`, rsc: RESOURCE_NAME, node: settings.members[0].hostname, score: firstMemberScore(settings.resourceStickiness) });
    if (!settings.healthCheckUrl) return [preferFirst];
    const expression = xml("expression", { id: `${RESOURCE_NAME}-on-healthy-api-expr`, attribute: HEALTH_ATTRIBUTE, operation: "eq", value: "1" });
    const rule = xml("rule", { id: `${RESOURCE_NAME}-on-healthy-api-rule`, score: HEALTHY_SCORE }, [expression]);
    return [preferFirst, xml("rsc_location", { id: `${RESOURCE_NAME}-on-healthy-api`, rsc: RESOURCE_NAME }, [rule])];
}

/** The cluster options the VIP depends on. */
export function renderClusterProperties(settings: VipSettings): { crmConfig: Record<string, string>; rscDefaults: Record<string, string> } {
    return {
        crmConfig: { "stonith-enabled": String(settings.stonithEnabled) },
        rscDefaults: { "resource-stickiness": String(settings.resourceStickiness) },
    };
}

/** A whole CIB with this configuration, for checking with crm_verify offline. */
export function renderCib(settings: VipSettings): string {
    const properties = renderClusterProperties(settings);
    return xml("cib", { "crm_feature_set": "3.16.2", "validate-with": "pacemaker-3.9", epoch: 1, num_updates: 0, admin_epoch: 0 }, [
        xml("configuration", {}, [
            xml("crm_config", {}, [xml("cluster_property_set", { id: "cib-bootstrap-options" }, nvpairs("cib-bootstrap-options", properties.crmConfig))]),
            xml("nodes", {}, settings.members.map((member) => xml("node", { id: nodeIdOf(member.address, settings.prefixLength), uname: member.hostname }))),
            xml("resources", {}, [renderVipPrimitive(settings)]),
            xml("constraints", {}, renderVipConstraints(settings)),
            xml("rsc_defaults", {}, [xml("meta_attributes", { id: "rsc-options" }, nvpairs("rsc-options", properties.rscDefaults))]),
        ]),
        xml("status", {}),
    ]) + "\n";
}

/** Once, on the first member: wait for every member and quorum, then properties, the VIP and its placement. */
export function renderClusterScript(settings: VipSettings): string {
    const count = settings.members.length;
    const properties = renderClusterProperties(settings);
    const staleHealthRule = settings.healthCheckUrl ? "" : `
cibadmin --delete --force --xpath "//rsc_location[@id='${RESOURCE_NAME}-on-healthy-api']" >/dev/null 2>&1 || true`;
    const names = settings.members.map((member) => member.hostname);
    const entries = settings.members.map((member) => `${nodeIdOf(member.address, settings.prefixLength)}:${member.hostname}`);
    return script(
        RETRY_FUNCTION,
        `# the membership: each member step wrote corosync.conf with these members
members=(${names.map(shellQuote).join(" ")})
member_entries=(${entries.map(shellQuote).join(" ")})
${IS_ONE_OF_FUNCTION}
# Pacemaker's nodes as id:name, from the CIB's nodes section
cib_entries() {
  cibadmin --query --scope nodes 2>/dev/null | grep -o '<node [^>]*>' | while read -r entry; do
    printf '%s:%s\\n' "$(sed -n 's/.* id="\\([^"]*\\)".*/\\1/p' <<<"$entry")" "$(sed -n 's/.* uname="\\([^"]*\\)".*/\\1/p' <<<"$entry")"
  done
}
vip_elsewhere() { ! crm_resource --resource ${RESOURCE_NAME} --locate 2>/dev/null | grep -E "is running on: $1\$" >/dev/null; }
# a node leaving the membership goes to standby first, while the cluster still has its quorum, so
# the VIP moves off it once (if it held it) rather than stopping with it
departed=()
if crm_mon -1 >/dev/null 2>&1; then
  while IFS=: read -r _ name; do
    if [ -n "$name" ] && ! is_one_of "$name" "\${members[@]}" && ! is_one_of "$name" "\${departed[@]}"; then departed+=("$name"); fi
  done < <(cib_entries)
fi
for name in "\${departed[@]}"; do
  retry 20 3 crm_attribute --node "$name" --name standby --update on
  retry 30 2 vip_elsewhere "$name" || { echo "${RESOURCE_NAME} did not leave $name within 60 s" >&2; crm_mon -1 >&2 || true; exit 1; }
  echo "$name is leaving the cluster: on standby, the VIP is elsewhere"
done
# one reload applies the new membership on every member at once (a no-op where nothing changed)
retry 10 3 corosync-cfgtool -R >/dev/null
echo "corosync reloaded its configuration on every member"`,
        `# every member joined and the cluster quorate (bounded wait)
members_joined() {
  [ "$(corosync-cmapctl -b runtime.members 2>/dev/null | grep -c 'status (str) = joined')" -eq ${count} ] &&
    corosync-quorumtool -s 2>/dev/null | grep -E '^Quorate:[[:space:]]+Yes' >/dev/null
}
retry 60 2 members_joined || { echo "corosync did not see all ${count} members joined and quorate within 120 s" >&2; corosync-quorumtool -s >&2 || true; exit 1; }
retry 60 2 crm_mon -1 >/dev/null || { echo "pacemaker did not answer within 120 s" >&2; exit 1; }
echo "cluster ${settings.clusterName}: ${count} members joined, quorate"`,
        `# nodes Pacemaker still lists that are not members, or not under their node id now, are purged by id
while IFS=: read -r id name; do
  if [ -n "$id" ] && [ -n "$name" ] && ! is_one_of "$id:$name" "\${member_entries[@]}"; then
    retry 10 3 crm_node --force --remove "$id" >/dev/null
    echo "removed node $name (id $id) from pacemaker"
  fi
done < <(cib_entries)`,
        `# cluster properties (retried: a new cluster's CIB refuses changes until its DC is elected)
${Object.entries(properties.crmConfig).map(([name, value]) => `retry 20 3 crm_attribute --type crm_config --name ${name} --update ${value}`).join("\n")}
${Object.entries(properties.rscDefaults).map(([name, value]) => `retry 20 3 crm_attribute --type rsc_defaults --name ${name} --update ${value}`).join("\n")}`,
        `# the VIP (the seed's IPaddr2 recipe) and its placement, created or brought up to date in place
retry 20 3 cibadmin --modify --allow-create --scope resources --xml-text ${shellQuote(renderVipPrimitive(settings))}
${renderVipConstraints(settings).map((constraint) => `retry 20 3 cibadmin --modify --allow-create --scope constraints --xml-text ${shellQuote(constraint)}`).join("\n")}${staleHealthRule}`,
        `# the VIP runs before we say it is up
vip_running() { crm_resource --resource ${RESOURCE_NAME} --locate 2>/dev/null | grep 'is running on' >/dev/null; }
retry 30 2 vip_running || { echo "${RESOURCE_NAME} did not start within 60 s" >&2; crm_mon -1 >&2 || true; exit 1; }
crm_resource --resource ${RESOURCE_NAME} --locate`,
    );
}

/** On delete, on the first member: the VIP and its constraints go. */
export function renderRemoveVipScript(): string {
    return script(`if command -v crm_resource >/dev/null 2>&1 && crm_resource --resource ${RESOURCE_NAME} --query-xml >/dev/null 2>&1; then
  pcs resource delete ${RESOURCE_NAME} --force
  echo "${RESOURCE_NAME} removed"
else
  echo "${RESOURCE_NAME} is already gone"
fi`);
}

/** On delete, per member: the cluster stops and its files go, so a new cluster starts clean. */
export function renderRemoveMemberScript(): string {
    return script(`systemctl disable --now homelab-api-health >/dev/null 2>&1 || true
rm -f ${HEALTH_UNIT_PATH} ${HEALTH_SCRIPT_PATH}
systemctl disable --now pcsd pcsd-ruby pacemaker corosync >/dev/null 2>&1 || true
rm -f /etc/corosync/authkey /etc/corosync/corosync.conf
rm -rf /var/lib/pacemaker/cib/*
echo "cluster stopped on $(hostname)"`);
}
