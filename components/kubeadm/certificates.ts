// Pure: when the certificates kubeadm made are due for renewal, and the script that renews them on
// a control plane. kubeadm's certificates live one year; only `kubeadm upgrade` renews them by
// itself, so a lab left alone for a year (or switched off for months) stops answering.
import { script, shellQuote } from "../script";

export const KUBERNETES_DIR = "/etc/kubernetes";

/** The control-plane components whose static pods must restart to load renewed certificates, and the file each loads at start. */
export const CONTROL_PLANE_COMPONENTS: ReadonlyArray<{ name: string; loads: string }> = [
    { name: "etcd", loads: "pki/etcd/server.crt" },
    { name: "kube-apiserver", loads: "pki/apiserver.crt" },
    { name: "kube-controller-manager", loads: "controller-manager.conf" },
    { name: "kube-scheduler", loads: "scheduler.conf" },
];

const DAY_MS = 86_400_000;

/**
 * The control planes whose served certificate (the API server's, read at program start) expires in
 * fewer than `renewBeforeDays` days from `now`; a node not read (off, or not answering) is not due.
 */
export function certificatesDue(served: Record<string, string>, renewBeforeDays: number, now: Date): string[] {
    return Object.entries(served)
        .filter(([, expires]) => Date.parse(expires) - now.getTime() < renewBeforeDays * DAY_MS)
        .map(([hostname]) => hostname);
}

/** The earliest of the expiry dates the renewal steps printed (ISO 8601), or "" when none did. */
export function earliestExpiry(dates: string[]): string {
    const known = dates.map((date) => date.trim()).filter((date) => !Number.isNaN(Date.parse(date)));
    return known.sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? "";
}

export interface CertificateRenewal {
    hostname: string;
    renewBeforeDays: number;
    /** e.g. /etc/kubernetes; another root only in tests. */
    kubernetesDir?: string;
    /** How long to wait for the pods to stop, then to come back, in seconds. */
    stopTimeoutSeconds?: number;
    startTimeoutSeconds?: number;
}

/**
 * Renews the certificates kubeadm manages on one control plane once one of them has fewer than
 * `renewBeforeDays` days left (`kubeadm certs renew all`, with the cluster's own validity period),
 * then restarts the control-plane pods as kubeadm documents it (their manifests moved away until
 * the kubelet stopped them, then back). Done means: no certificate due, and each component's
 * process started after the file it loads was written (so it runs with the renewed one), the API
 * server answering /readyz. A run cut short while the manifests were away puts them back first.
 * stdout is one line: the earliest expiry left on this node (ISO 8601); all else goes to stderr.
 */
export function renderCertificateRenewalScript(args: CertificateRenewal): string {
    const dir = args.kubernetesDir ?? KUBERNETES_DIR;
    const host = args.hostname;
    const days = args.renewBeforeDays;
    const components = CONTROL_PLANE_COMPONENTS.map(({ name }) => name).join(" ");
    return script(`exec 3>&1 1>&2
kubernetes_dir=${shellQuote(dir)}
manifests="$kubernetes_dir/manifests"
held="$kubernetes_dir/homelab-held-manifests"
renew_before=$(( ${days} * 86400 ))
components=${shellQuote(components)}
loads() {
  case $1 in
${CONTROL_PLANE_COMPONENTS.map(({ name, loads }) => `    ${name}) echo "$kubernetes_dir/${loads}" ;;`).join("\n")}
  esac
}`, `# a run cut short while the manifests were held away: they go back before anything else
if [ -d "$held" ]; then
  for file in "$held"/*.yaml; do
    [ -e "$file" ] || continue
    mv "$file" "$manifests/"
    echo "${host}: $(basename "$file") put back into $manifests (an earlier run was cut short)"
  done
  rmdir "$held"
fi`, `# the certificate kubeadm manages here that expires first: "NAME EXPIRES" (ISO 8601 sorts by time)
least_left() {
  kubeadm certs check-expiration -o jsonpath='{range .certificates[*]}{.name} {.missing} {.externallyManaged} {.residualTime} {.expirationDate}{"\\n"}{end}' \\
    | awk '$2 == "false" && $3 == "false" && NF == 5 { print $1, $5 }' | sort -k2,2 | head -n 1
}
least=$(least_left)
[ -n "$least" ] || { echo "${host}: kubeadm lists no certificate it manages here; is this a control plane that has joined?"; exit 1; }
# the time left from the expiry date itself: residualTime's unit was not seconds on the lab (41 days read as more than 90)
read -r name expires <<< "$least"
left=$(( $(date -d "$expires" +%s) - $(date +%s) ))
renewed=no
if [ "$left" -le "$renew_before" ]; then
  echo "${host}: $name expires $expires, fewer than ${days} days from now; renewing every certificate kubeadm manages here"
  kubeadm certs renew all
  renewed=yes
  least=$(least_left)
  read -r name expires <<< "$least"
  left=$(( $(date -d "$expires" +%s) - $(date +%s) ))
  if [ "$left" -le "$renew_before" ]; then
    echo "${host}: renewed, but $name is valid only until $expires: the cluster's certificateValidityPeriod is not longer than kubernetes.certificates.renewBeforeDays (${days}); set renewBeforeDays below it"
    exit 1
  fi
else
  echo "${host}: every certificate kubeadm manages here has more than ${days} days left (the first to expire: $name, $expires)"
fi`, `# a component runs with its current certificate once its process started after the file was written
started_after_file() {
  local pid
  pid=$(pgrep -o -f "^$1( |\\$)") || return 1
  # (both in whole seconds, the start time rounded either way)
  [ $(( $(date +%s) - $(ps -o etimes= -p "$pid") )) -ge $(( $(stat -c %Y "$(loads "$1")") - 1 )) ]
}
stale=""
for component in $components; do
  started_after_file "$component" || stale="$stale $component"
done
if [ -n "$stale" ]; then
  echo "${host}: restarting the control-plane pods (still on the earlier certificates or not running:$stale)"
  mkdir -p "$held"
  for component in $components; do
    if [ -e "$manifests/$component.yaml" ]; then mv "$manifests/$component.yaml" "$held/"; fi
  done
  deadline=$(( $(date +%s) + ${args.stopTimeoutSeconds ?? 120} ))
  for component in $components; do
    while pgrep -f "^$component( |\\$)" >/dev/null; do
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "${host}: $component still runs ${args.stopTimeoutSeconds ?? 120} s after its manifest was moved away; its manifest goes back"
        mv "$held"/*.yaml "$manifests/" && rmdir "$held"
        exit 1
      fi
      sleep 2
    done
  done
  mv "$held"/*.yaml "$manifests/"
  rmdir "$held"
fi
deadline=$(( $(date +%s) + ${args.startTimeoutSeconds ?? 300} ))
for component in $components; do
  until started_after_file "$component"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "${host}: $component is not running with its current certificate ${args.startTimeoutSeconds ?? 300} s after its pod was restarted; see crictl ps -a and the kubelet's log"
      exit 1
    fi
    sleep 2
  done
done
until curl -ksf --max-time 5 https://127.0.0.1:6443/readyz >/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "${host}: the API server does not answer /readyz ${args.startTimeoutSeconds ?? 300} s after its pod was restarted"
    exit 1
  fi
  sleep 2
done
if [ "$renewed" = yes ] || [ -n "$stale" ]; then echo "${host}: the control plane runs with certificates valid until $expires or later"; fi
echo "$expires" >&3`);
}
