# shellcheck shell=bash
# go-env.sh — source this for the Go build environment the engine is built with, so that
# engine/setup.sh and the providers' `go test` in scripts/test.sh share flags and, above all, the build
# cache (otherwise the test compiles the provider's dependencies again). Sets GO (the toolchain,
# empty when there is none) and exports GOTOOLCHAIN, CGO_ENABLED, GOFLAGS and GOCACHE.
# Env: ENGINE_GOCACHE (default ~/.cache/homelab/go-build, outside the checkout so that a fresh
#      clone on the same machine, as CI makes, reuses it).
GO=$(command -v go || true)
if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly"
export GOCACHE=${ENGINE_GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab/go-build}
