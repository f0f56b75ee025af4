// Pure: containerd's configuration, owned by KubeadmCluster alone (BareMetalNode only installs
// containerd): what the kubelet needs of it, with the pause image as an input.

/**
 * Bash that writes /etc/containerd/config.toml as containerd's own defaults with the systemd
 * cgroup driver (the kubelet's), CNI plugins in /opt/cni/bin (where Calico's installer puts them;
 * Debian's containerd looks in /usr/lib/cni) and `sandboxImage` as the sandbox (pause) image, and
 * restarts containerd only when the file changed. `sandboxImage` is bash that expands inside double quotes, e.g. $pause_image.
 */
export function renderContainerdConfig(sandboxImage: string): string {
    return `# containerd as the kubelet needs it; this is the one place that writes its configuration
containerd_new=$(mktemp)
containerd config default > "$containerd_new"
sed -i -E 's/^([[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*)false/\\1true/' "$containerd_new"
grep -Eq '^[[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*true' "$containerd_new" || { echo "containerd's default config has no SystemdCgroup setting to turn on" >&2; exit 1; }
sed -i -E 's#^([[:space:]]*bin_dir[[:space:]]*=[[:space:]]*).*#\\1"/opt/cni/bin"#' "$containerd_new"
grep -Eq '^[[:space:]]*sandbox_image[[:space:]]*=' "$containerd_new" || { echo "containerd's default config has no sandbox_image setting" >&2; exit 1; }
sandbox_line=$(printf 'sandbox_image = "%s"' "${sandboxImage}")
sed -i -E "s|^([[:space:]]*)sandbox_image[[:space:]]*=.*|\\1$sandbox_line|" "$containerd_new"
if ! cmp -s "$containerd_new" /etc/containerd/config.toml; then
  install -D -m 644 "$containerd_new" /etc/containerd/config.toml
  systemctl restart containerd
  echo "containerd configured: systemd cgroups, CNI plugins in /opt/cni/bin, sandbox image ${sandboxImage}"
fi
rm -f "$containerd_new"
# a record an earlier version of this program kept for BareMetalNode, which no longer writes this file
rm -rf /etc/homelab/containerd
systemctl is-active --quiet containerd || { echo "containerd is not running" >&2; exit 1; }`;
}
