// Pure helpers for rendering the bash scripts that run on nodes: no Pulumi SDK here,
// so renderers can be used (and tested) without an engine.

/** The first lines of every script that runs on a node. */
export const PRELUDE = [
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "export DEBIAN_FRONTEND=noninteractive",
].join("\n");

/** Joins script sections under the prelude, separated by a blank line; an empty section (one that does not apply) is left out. */
export function script(...sections: string[]): string {
    return [PRELUDE, ...sections.map((section) => section.trim()).filter((section) => section !== "")].join("\n\n") + "\n";
}

/** Quotes a value for bash: the result is one word whatever the value holds. */
export function shellQuote(value: string | number): string {
    const text = String(value);
    if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
    return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A bash heredoc that writes `content` to `path` with `mode`, only if it differs; sets CHANGED=1 when it wrote. */
export function writeFileIfChanged(path: string, content: string, mode: string): string {
    const marker = "HOMELAB_EOF";
    if (content.includes(marker)) throw new Error(`file content for ${path} contains the heredoc marker ${marker}`);
    const body = content.endsWith("\n") ? content : `${content}\n`;
    return [
        `homelab_new=$(mktemp)`,
        `cat > "$homelab_new" <<'${marker}'`,
        `${body}${marker}`,
        `if ! cmp -s "$homelab_new" ${shellQuote(path)}; then`,
        `  install -D -m ${mode} "$homelab_new" ${shellQuote(path)}`,
        `  CHANGED=1`,
        `fi`,
        `rm -f "$homelab_new"`,
    ].join("\n");
}

/** A bash function `is_one_of ITEM LIST...`: true when ITEM is one of the words that follow it. */
export const IS_ONE_OF_FUNCTION = 'is_one_of() { local item=$1; shift; local other; for other in "$@"; do [ "$other" = "$item" ] && return 0; done; return 1; }';

/** A bash function `newer A B`: true when version A is later than B (e.g. v1.37.2 and 1.36.3; a leading v is ignored). */
export const NEWER_FUNCTION = `newer() { [ "$1" != "$2" ] && [ "$(printf '%s\\n%s\\n' "\${1#v}" "\${2#v}" | sort -V | tail -n 1)" = "\${1#v}" ]; }`;

/** A bash function `retry TRIES DELAY CMD...` that retries a command with a bounded number of tries. */
export const RETRY_FUNCTION = `retry() {
  local tries=$1 delay=$2 attempt=1
  shift 2
  until "$@"; do
    if [ "$attempt" -ge "$tries" ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$delay"
  done
}`;

/** The command line that runs a rendered script as root: the script travels in the command, stdin stays free for secrets. */
export function asRoot(renderedScript: string): string {
    return `sudo -n bash -c ${shellQuote(renderedScript)}`;
}

/** How long apt and dpkg wait for dpkg's lock (unattended-upgrades holds it for minutes after a node boots). */
export const DPKG_LOCK_TIMEOUT_SECONDS = 600;

/**
 * `dpkg_ready`: finishes what a power loss or a killed run left half-installed (dpkg refuses every
 * later install until then), waiting for dpkg's lock, bounded. `packages_installed PKG...`: true
 * when every package is fully installed (a half-configured one is not). `apt_get ARGS...`: apt-get
 * with bounded retries and the same wait for the lock. Needs RETRY_FUNCTION.
 */
export const APT_FUNCTION = `dpkg_ready() {
  local waited=0 output
  until output=$(dpkg --configure -a 2>&1); do
    if ! grep -qi 'lock' <<<"$output" || [ "$waited" -ge ${DPKG_LOCK_TIMEOUT_SECONDS} ]; then
      printf '%s\\n' "$output" >&2
      if [ "$waited" -ge ${DPKG_LOCK_TIMEOUT_SECONDS} ]; then
        echo "dpkg's lock on $(hostname) was still held after ${DPKG_LOCK_TIMEOUT_SECONDS} s (unattended-upgrades?)" >&2
      else
        echo "dpkg --configure -a failed on $(hostname)" >&2
      fi
      return 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
}
packages_installed() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='\${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep '^ii' >/dev/null || return 1
  done
}
apt_get() {
  dpkg_ready
  retry 5 10 apt-get -o DPkg::Lock::Timeout=${DPKG_LOCK_TIMEOUT_SECONDS} "$@"
}`;
