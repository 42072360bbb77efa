# shellcheck shell=bash
# Sourced (never run) by the scripts/get-*.sh that build test peers with the Go toolchain (upstream
# programs from the Go module proxy) into a versioned cache directory. Never product code.
#
# The caller sets me (its name without .sh: every log line on stderr starts with "$me: ") and its
# version variables (kube_version for Kubernetes programs), sources this file, then calls in order:
#   begin FOLDER "$@"            sets dir=$cache/FOLDER (its versioned cache folder: scratch
#                                modules go to $dir/src/NAME) and bindir=$dir/bin; parses the
#                                arguments (--check or nothing, else exit 2)
#   begin_kube FOLDER "$@"       the same, and validates $kube_version (exit 2)
#   use_cached_or_prepare WHAT NAME...
#                                prints $bindir and exits 0 when every NAME is built; otherwise
#                                exits 1 under --check or without Go, else readies a build
#   ...enter_scratch_module / enter_kube_module, tidy_module, build, one per program missing...
#   finish NAME...               `NAME --version` on stderr for each, then prints $bindir
#
# The usage contract this gives every such script: stdout is only the absolute path of $bindir;
# --check never builds; exit codes 0 (all available), 1 (not available and not built: --check, no
# Go toolchain, network or build failure), 2 (bad usage); environment PILLION_CACHE (default
# ~/.cache/pillion) and the script's own *_VERSION variables.

cache="${PILLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pillion}"

# begin FOLDER ARGS...: sets dir and bindir; sets check_only (1 for --check, 0 for no argument),
# exit 2 for any other argument.
begin() {
  dir="$cache/$1"
  bindir="$dir/bin"
  check_only=0
  case "${2:-}" in
    '') ;;
    --check) check_only=1 ;;
    *) echo "$me: unknown argument: $2 (usage: $me.sh [--check])" >&2; exit 2 ;;
  esac
}

# begin_kube FOLDER ARGS...: begin, then checks $kube_version (v1.MINOR.PATCH) and sets kube_minor
# and staging_version (v0.MINOR.PATCH, the version every staging module is published at); exit 2
# for anything else.
begin_kube() {
  begin "$@"
  if [[ ! $kube_version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]]; then
    echo "$me: KUBE_VERSION must look like v1.37.2, not $kube_version" >&2
    exit 2
  fi
  kube_minor="${BASH_REMATCH[1]}"
  staging_version="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
}

# use_cached_or_prepare WHAT NAME...: when $bindir holds every NAME, prints $bindir and exits 0.
# Otherwise exits 1 under --check or without a Go toolchain (WHAT names the programs in those
# messages), or creates $bindir and sets up the environment of the builds that follow.
use_cached_or_prepare() {
  local what=$1 name missing=0
  shift
  for name; do [[ -x $bindir/$name ]] || missing=1; done
  if ((!missing)); then
    printf '%s\n' "$bindir"
    exit 0
  fi
  if ((check_only)); then
    echo "$me: $what are not built in $bindir (run scripts/$me.sh)" >&2
    exit 1
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "$me: no Go toolchain on PATH; cannot build $what" >&2
    exit 1
  fi
  mkdir -p "$bindir"
  export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"
}

# upstream_gomod MODULE@VERSION: downloads the module into the module cache, prints its go.mod's path.
upstream_gomod() {
  local info
  echo "$me: fetching $1" >&2
  if ! info=$(go mod download -json "$1"); then
    echo "$me: go mod download $1 failed" >&2
    return 1
  fi
  info=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
  if [[ ! -f $info ]]; then
    echo "$me: go mod download $1 named no go.mod file" >&2
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
  echo "$me: compiling $name (minutes on a small machine)" >&2
  if ! nice -n 10 go build -trimpath -ldflags="-s -w $ldflags" -o "$bindir/.$name.tmp" "$pkg" >&2; then
    rm -f "$bindir/.$name.tmp"
    echo "$me: go build $pkg failed" >&2
    exit 1
  fi
  mv -f "$bindir/.$name.tmp" "$bindir/$name"
  echo "$me: built $name in $(($(date +%s) - start))s" >&2
}

# enter_scratch_module NAME MODULE VERSION TOOL...: a fresh folder $dir/src/NAME with a go.mod that
# requires MODULE at VERSION and names each TOOL (the packages to build); cd into it and set
# upstream_mod to the path of upstream's go.mod (downloaded). The caller may append to go.mod,
# then tidy_module.
enter_scratch_module() {
  local name=$1 module=$2 version=$3 tool
  shift 3
  rm -rf "$dir/src/$name"
  mkdir -p "$dir/src/$name"
  cd "$dir/src/$name"
  upstream_mod=$(upstream_gomod "$module@$version")
  {
    echo "// Scratch module: builds $name $version (scripts/$me.sh)."
    echo "module pillion.invalid/$name-build"
    echo
    # The same go and godebug lines as upstream's main module, so the same GODEBUG defaults (and
    # a pruned module graph: with no go line, go assumes 1.16 and walks every go.mod there is).
    grep -E '^(go|godebug) ' "$upstream_mod"
    echo
    echo "require $module $version"
    echo
    for tool; do echo "tool $tool"; done
  } >go.mod
}

# tidy_module WHAT [HINT]: resolve the current scratch module's dependencies, or stop naming WHAT.
tidy_module() {
  echo "$me: resolving $1" >&2
  if ! go mod tidy >&2; then
    echo "$me: go mod tidy failed for $1${2:+ ($2)}" >&2
    exit 1
  fi
}

# enter_kube_module NAME TOOL...: the scratch module $dir/src/NAME for programs of k8s.io/kubernetes
# at $kube_version (each TOOL a package such as k8s.io/kubernetes/cmd/kubelet), resolved, and
# kube_ldflags set to the version stamp for `build`.
# Why not `go install k8s.io/kubernetes/cmd/kubelet@vX`: k8s.io/kubernetes's go.mod requires its
# staging modules (k8s.io/api, apimachinery, apiserver, client-go, ...) at v0.0.0 and replaces them
# with ./staging/src/k8s.io/*, which the module zip does not contain, and `go install pkg@v` refuses
# modules with replace directives anyway. So the scratch module requires k8s.io/kubernetes and
# replaces every staging module with its published twin, v0.MINOR.PATCH for v1.MINOR.PATCH.
enter_kube_module() {
  local name=$1 m pkg
  local -a staging
  shift
  enter_scratch_module "$name" k8s.io/kubernetes "$kube_version" "$@"
  mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$upstream_mod")
  if ((${#staging[@]} == 0)); then
    echo "$me: found no staging replace directives in $upstream_mod" >&2
    exit 1
  fi
  {
    echo
    echo "replace ("
    for m in "${staging[@]}"; do echo "	$m => $m $staging_version"; done
    echo ")"
  } >>go.mod
  tidy_module "$name $kube_version with ${#staging[@]} staging modules at $staging_version" "is every staging module served at $staging_version?"
  # What hack/lib/version.sh stamps, less the git commit, tree state and build date.
  kube_ldflags=""
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  done
}

# finish NAME...: each built program's `--version` on stderr, then $bindir on stdout.
finish() {
  local name
  for name; do "$bindir/$name" --version >&2; done
  printf '%s\n' "$bindir"
}
