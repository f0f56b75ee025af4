# shellcheck shell=bash
# env.sh — source this to use the Pulumi engine built by engine/setup.sh:
#   source engine/env.sh && pulumi version
# Works from bash and zsh. Exports:
#   PATH                         .tools/bin first (pulumi, pulumi-language-nodejs, substituted providers)
#   PULUMI_HOME                  .tools/pulumi-home (its plugins/ holds the providers; ~/.pulumi is not used)
#   PULUMI_BACKEND_URL           file://<repo>/.pulumi-state (directory created); export another
#                                value after sourcing to use e.g. a throwaway backend
#   PULUMI_CONFIG_PASSPHRASE     "homelab-test" ONLY if neither it nor PULUMI_CONFIG_PASSPHRASE_FILE
#                                is set: a documented test value for the local
#                                file backend's secrets provider; set your own for anything real
#   PULUMI_SKIP_UPDATE_CHECK, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION (a missing plugin fails
#   at once instead of a download attempt), PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK (the Automation
#   API in @pulumi/pulumi would otherwise refuse a CLI older than itself), PULUMI_SKIP_CONFIRMATIONS
#   is left alone.
# shellcheck disable=SC2296 # ${(%):-%x} is zsh's name of the sourced file, in the branch only zsh takes
if [ -n "${BASH_SOURCE:-}" ]; then _engine_src=${BASH_SOURCE[0]}; else _engine_src=${(%):-%x}; fi
_engine_root=$(cd "$(dirname "$_engine_src")/.." && pwd)
_engine_tools=${ENGINE_TOOLS_DIR:-$_engine_root/.tools}
case ":$PATH:" in
  *":$_engine_tools/bin:"*) PATH=$_engine_tools/bin:$(printf %s ":$PATH:" | sed "s#:$_engine_tools/bin:#:#g; s#^:##; s#:\$##") ;;
  *) PATH=$_engine_tools/bin:$PATH ;;
esac
export PATH
export PULUMI_HOME=$_engine_tools/pulumi-home
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
export PULUMI_BACKEND_URL=file://$_engine_root/.pulumi-state
mkdir -p "$_engine_root/.pulumi-state"
if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE=homelab-test
fi
mkdir -p "$PULUMI_HOME/plugins"
if [ ! -x "$_engine_tools/bin/pulumi" ] && ! command -v pulumi >/dev/null 2>&1; then
  echo "engine-env: no pulumi yet — run: bash engine/setup.sh" >&2
fi
unset _engine_src _engine_root _engine_tools
