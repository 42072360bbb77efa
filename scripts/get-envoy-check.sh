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
# The go-control-plane version is the one pinned in the peer's go.mod (with its go.sum checked in);
# the cache directory is keyed by that version and by a hash of the peer's sources, so a change to
# either builds a new binary.
set -euo pipefail

src="$(cd "$(dirname "$0")/.." && pwd)/test/peers/envoy-bootstrap-check"
cache="${PILLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pillion}"

check_only=0
case "${1:-}" in
  '') ;;
  --check) check_only=1 ;;
  *) echo "get-envoy-check: unknown argument: $1 (usage: get-envoy-check.sh [--check])" >&2; exit 2 ;;
esac

if [[ ! -f $src/go.mod || ! -f $src/go.sum ]]; then
  echo "get-envoy-check: no go.mod/go.sum in $src" >&2
  exit 1
fi
version=$(sed -n 's#^[[:space:]]*\(require[[:space:]]\{1,\}\)\{0,1\}github\.com/envoyproxy/go-control-plane/envoy[[:space:]]\{1,\}\(v[^[:space:]]*\).*#\2#p' "$src/go.mod" | head -n 1)
if [[ -z $version ]]; then
  echo "get-envoy-check: $src/go.mod requires no github.com/envoyproxy/go-control-plane/envoy" >&2
  exit 1
fi
# File names and contents, in a fixed order: the same sources give the same key on any machine.
key=$(cd "$src" && export LC_ALL=C && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-12)
dir="$cache/envoy-check-$version-$key"
# bin/ like the other peers' cache folders (scripts/get-kube-apiserver.sh).
bindir="$dir/bin"
bin="$bindir/envoy-bootstrap-check"

if [[ -x $bin ]]; then
  printf '%s\n' "$bindir"
  exit 0
fi
if ((check_only)); then
  echo "get-envoy-check: envoy-bootstrap-check (go-control-plane $version, sources $key) is not built in $bindir (run scripts/get-envoy-check.sh)" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1; then
  echo "get-envoy-check: no Go toolchain on PATH; cannot build envoy-bootstrap-check" >&2
  exit 1
fi

mkdir -p "$bindir"
echo "get-envoy-check: building envoy-bootstrap-check with go-control-plane $version into $bindir (minutes on a small machine: every Envoy API package is compiled)" >&2
start=$(date +%s)
# -mod=readonly: the checked-in go.sum must already cover everything (no silent re-resolution).
# A temporary name, so that a failed build leaves nothing; nice keeps the build from starving
# whatever else shares the machine.
if ! (cd "$src" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false -mod=readonly" \
  nice -n 10 go build -trimpath -ldflags='-s -w' -o "$bindir/.envoy-bootstrap-check.tmp" .) >&2; then
  rm -f "$bindir/.envoy-bootstrap-check.tmp"
  echo "get-envoy-check: go build in $src failed" >&2
  exit 1
fi
mv -f "$bindir/.envoy-bootstrap-check.tmp" "$bin"
echo "get-envoy-check: built in $(($(date +%s) - start))s" >&2
"$bin" -version >&2
printf '%s\n' "$bindir"
