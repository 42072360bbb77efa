#!/usr/bin/env bash
# Builds upstream kube-apiserver and etcd (test peers only: an e2e test runs a real API server that
# calls the mutating admission webhook) from the Go module proxy into a cache directory, unless
# they are already there. Never product code.
# stdout: the absolute path of the directory holding both binaries, `kube-apiserver` and `etcd`
# (and nothing else); logs go to stderr.
# Usage: get-kube-apiserver.sh           build whatever is missing, print the directory
#        get-kube-apiserver.sh --check   print the directory if both are built; never builds
#                                        (exit 1 if either is absent)
# Exit codes: 0 both available; 1 not available and not built (--check, no Go toolchain,
# network or build failure); 2 bad usage.
# Environment: KUBE_VERSION, ETCD_VERSION (defaults below), PILLION_CACHE (default
# ~/.cache/pillion).
#
# Why not `go install k8s.io/kubernetes/cmd/kube-apiserver@vX`: k8s.io/kubernetes's go.mod requires
# its staging modules (k8s.io/api, apimachinery, apiserver, client-go, ...) at v0.0.0 and replaces
# them with ./staging/src/k8s.io/*, which the module zip does not contain, and `go install pkg@v`
# refuses modules with replace directives anyway. So a scratch module requires k8s.io/kubernetes
# and replaces every staging module with its published twin, v0.MINOR.PATCH for v1.MINOR.PATCH.
# etcd's server module (its root package is etcd's main) has `replace => ../api` directives
# too, so it gets a scratch module of its own (kept apart so the two dependency graphs stay exactly
# the ones upstream pins).
set -euo pipefail

# etcd: the version that k8s.io/kubernetes pins in hack/lib/etcd.sh for its own integration tests.
kube_version="${KUBE_VERSION:-v1.37.2}"
etcd_version="${ETCD_VERSION:-v3.7.0}"
cache="${PILLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pillion}"
dir="$cache/kube-$kube_version-etcd-$etcd_version"
bindir="$dir/bin"

check_only=0
case "${1:-}" in
  '') ;;
  --check) check_only=1 ;;
  *) echo "get-kube-apiserver: unknown argument: $1 (usage: get-kube-apiserver.sh [--check])" >&2; exit 2 ;;
esac

if [[ ! $kube_version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]]; then
  echo "get-kube-apiserver: KUBE_VERSION must look like v1.37.2, not $kube_version" >&2
  exit 2
fi
kube_minor="${BASH_REMATCH[1]}"
staging_version="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

if [[ -x $bindir/kube-apiserver && -x $bindir/etcd ]]; then
  printf '%s\n' "$bindir"
  exit 0
fi
if ((check_only)); then
  echo "get-kube-apiserver: kube-apiserver $kube_version / etcd $etcd_version are not built in $bindir (run scripts/get-kube-apiserver.sh)" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1; then
  echo "get-kube-apiserver: no Go toolchain on PATH; cannot build kube-apiserver $kube_version / etcd $etcd_version" >&2
  exit 1
fi

mkdir -p "$bindir"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"

# upstream_gomod MODULE@VERSION: downloads the module into the module cache, prints its go.mod's path.
upstream_gomod() {
  local info
  echo "get-kube-apiserver: fetching $1" >&2
  if ! info=$(go mod download -json "$1"); then
    echo "get-kube-apiserver: go mod download $1 failed" >&2
    return 1
  fi
  info=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
  if [[ ! -f $info ]]; then
    echo "get-kube-apiserver: go mod download $1 named no go.mod file" >&2
    return 1
  fi
  printf '%s\n' "$info"
}

# build NAME PACKAGE LDFLAGS: `go build` PACKAGE (a tool of the scratch module in the current
# directory) into $bindir/NAME, through a temporary name so that a failed build leaves nothing.
# nice keeps the build from starving whatever else shares the machine.
build() {
  local name=$1 pkg=$2 ldflags=$3 start
  start=$(date +%s)
  echo "get-kube-apiserver: compiling $name (minutes on a small machine)" >&2
  if ! nice -n 10 go build -trimpath -ldflags="-s -w $ldflags" -o "$bindir/.$name.tmp" "$pkg" >&2; then
    rm -f "$bindir/.$name.tmp"
    echo "get-kube-apiserver: go build $pkg failed" >&2
    exit 1
  fi
  mv -f "$bindir/.$name.tmp" "$bindir/$name"
  echo "get-kube-apiserver: built $name in $(($(date +%s) - start))s" >&2
}

# enter_scratch_module NAME MODULE VERSION TOOL: a fresh folder $dir/src/NAME with a go.mod that
# requires MODULE at VERSION and names TOOL (the package to build); cd into it and set upstream_mod
# to the path of upstream's go.mod (downloaded). The caller may append to go.mod, then tidy_module.
enter_scratch_module() {
  local name=$1 module=$2 version=$3 tool=$4
  rm -rf "$dir/src/$name"
  mkdir -p "$dir/src/$name"
  cd "$dir/src/$name"
  upstream_mod=$(upstream_gomod "$module@$version")
  {
    echo "// Scratch module: builds $name $version (scripts/get-kube-apiserver.sh)."
    echo "module pillion.invalid/$name-build"
    echo
    # The same go and godebug lines as upstream's main module, so the same GODEBUG defaults (and
    # a pruned module graph: with no go line, go assumes 1.16 and walks every go.mod there is).
    grep -E '^(go|godebug) ' "$upstream_mod"
    echo
    echo "require $module $version"
    echo
    echo "tool $tool"
  } >go.mod
}

# tidy_module WHAT [HINT]: resolve the current scratch module's dependencies, or stop naming WHAT.
tidy_module() {
  echo "get-kube-apiserver: resolving $1" >&2
  if ! go mod tidy >&2; then
    echo "get-kube-apiserver: go mod tidy failed for $1${2:+ ($2)}" >&2
    exit 1
  fi
}

if [[ ! -x $bindir/kube-apiserver ]]; then
  enter_scratch_module kube-apiserver k8s.io/kubernetes "$kube_version" k8s.io/kubernetes/cmd/kube-apiserver
  mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$upstream_mod")
  if ((${#staging[@]} == 0)); then
    echo "get-kube-apiserver: found no staging replace directives in $upstream_mod" >&2
    exit 1
  fi
  {
    echo
    echo "replace ("
    for m in "${staging[@]}"; do echo "	$m => $m $staging_version"; done
    echo ")"
  } >>go.mod
  tidy_module "kube-apiserver $kube_version with ${#staging[@]} staging modules at $staging_version" "is every staging module served at $staging_version?"
  # What hack/lib/version.sh stamps, less the git commit, tree state and build date.
  ldflags=""
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  done
  build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
fi

if [[ ! -x $bindir/etcd ]]; then
  enter_scratch_module etcd go.etcd.io/etcd/server/v3 "$etcd_version" go.etcd.io/etcd/server/v3
  tidy_module "etcd $etcd_version"
  build etcd go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=module-$etcd_version"
fi

"$bindir/kube-apiserver" --version >&2
"$bindir/etcd" --version >&2
printf '%s\n' "$bindir"
