#!/usr/bin/env bash
# Builds envoy-bootstrap-check (a test peer only: test/peers/envoy-bootstrap-check checks rendered
# Envoy bootstraps against Envoy's API definitions and validation rules from go-control-plane)
# into a cache directory, unless it is already there. Never product code.
# stdout: the absolute path of the directory holding the binary `envoy-bootstrap-check` (and
# nothing else); logs go to stderr.
# Usage: get-envoy-check.sh           build if missing, print the directory
#        get-envoy-check.sh --check   print the directory if already built; never builds
#                                     (exit 1 if absent)
# Exit codes: 0 available; 1 not available and not built (--check, no Go toolchain, network or
# build failure); 2 bad usage.
# Environment: PILLION_CACHE (default ~/.cache/pillion).
#
# Unlike the other peers this one is our own module: the go-control-plane version is the one
# pinned in its go.mod (with its go.sum checked in, so the build resolves nothing anew), and the
# cache folder is keyed by that version and by a hash of the module's files, so a change to either
# builds a new binary.
set -euo pipefail
me=get-envoy-check

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/peers/envoy-bootstrap-check"
if [[ ! -f $src/go.mod || ! -f $src/go.sum ]]; then
  echo "$me: no go.mod/go.sum in $src" >&2
  exit 1
fi
version=$(sed -n 's#^[[:space:]]*\(require[[:space:]]\{1,\}\)\{0,1\}github\.com/envoyproxy/go-control-plane/envoy[[:space:]]\{1,\}\(v[^[:space:]]*\).*#\2#p' "$src/go.mod" | head -n 1)
if [[ -z $version ]]; then
  echo "$me: $src/go.mod requires no github.com/envoyproxy/go-control-plane/envoy" >&2
  exit 1
fi
# File names and contents, in a fixed order: the same sources give the same key on any machine.
key=$(cd "$src" && export LC_ALL=C && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-12)

# shellcheck source=lib/build-from-proxy.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/build-from-proxy.sh"
begin "envoy-check-$version-$key" "$@"
use_cached_or_prepare "envoy-bootstrap-check (go-control-plane $version, sources $key)" envoy-bootstrap-check
cd "$src"
# Every Envoy API package is compiled (extensions.go imports them all): about two minutes on two
# busy cores without a warm Go build cache.
build envoy-bootstrap-check . ""
finish envoy-bootstrap-check
