#!/usr/bin/env bash
# Builds helm (a test peer only: the deploy tests compare `helm template` with `kubectl kustomize`)
# from the Go module proxy into a cache directory, unless it is already there.
# stdout: the absolute path of the helm binary (and nothing else); logs go to stderr.
# Usage: get-helm.sh            build if missing, print the path
#        get-helm.sh --check    print the path if already built; never builds (exit 1 if absent)
# Exit codes: 0 helm available; 1 not available and not built (--check, no Go toolchain,
# network or build failure); 2 bad usage.
# Environment: HELM_VERSION (default below), PILLION_CACHE (default ~/.cache/pillion).
set -euo pipefail

version="${HELM_VERSION:-v3.19.5}"
cache="${PILLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pillion}"
dir="$cache/helm-$version"
bin="$dir/helm"

check_only=0
case "${1:-}" in
  '') ;;
  --check) check_only=1 ;;
  *) echo "get-helm: unknown argument: $1 (usage: get-helm.sh [--check])" >&2; exit 2 ;;
esac

if [[ -x $bin ]]; then
  printf '%s\n' "$bin"
  exit 0
fi
if ((check_only)); then
  echo "get-helm: helm $version is not built at $bin (run scripts/get-helm.sh)" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1; then
  echo "get-helm: no Go toolchain on PATH; cannot build helm $version" >&2
  exit 1
fi

mkdir -p "$dir"
echo "get-helm: building helm $version into $dir (takes minutes on a small machine)" >&2
start=$(date +%s)
# GOBIN makes `go install` put the binary straight into the versioned cache directory;
# nice keeps the build from starving whatever else shares the machine.
if ! GOBIN="$dir" GOFLAGS="${GOFLAGS:-} -buildvcs=false" CGO_ENABLED=0 \
  nice -n 10 go install "helm.sh/helm/v3/cmd/helm@$version" >&2; then
  echo "get-helm: go install helm.sh/helm/v3/cmd/helm@$version failed" >&2
  exit 1
fi
echo "get-helm: built in $(( $(date +%s) - start ))s" >&2
"$bin" version --short >&2
printf '%s\n' "$bin"
