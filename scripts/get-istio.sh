#!/usr/bin/env bash
# Builds Istio's pilot-agent, pilot-discovery (istiod), istioctl and istio-cni (bench-only peers:
# bench/startup.ts times `pillion-init apply` against `pilot-agent istio-iptables` and
# `pillion inject -f` against `istioctl kube-inject`) from the Go module proxy into a cache
# directory, unless they are already there. Never product code; neither scripts/setup.sh nor
# npm test runs this.
# stdout: the absolute path of the directory holding the four binaries (and nothing else); logs go
# to stderr.
# Usage: get-istio.sh           build whatever is missing, print the directory
#        get-istio.sh --check   print the directory if all four are built; never builds
#                               (exit 1 if any is absent)
# Exit codes: 0 all available; 1 not available and not built (--check, no Go toolchain, network
# or build failure); 2 bad usage.
# Environment: ISTIO_VERSION (default below), PILLION_CACHE (default ~/.cache/pillion).
#
# The pin: istio.io/istio tags its releases 1.x.y (no leading "v"), which are not semantic
# versions, so the module proxy lists no version of the module at all (`go list -m -versions
# istio.io/istio` prints none) and serves only pseudo-versions of commits. The default below is
# what `go list -m istio.io/istio@latest` resolved to when this was written: the newest commit the
# proxy serves (master, committed 2026-08-27; asking for a release tag or a release branch is
# refused by the proxy here). Change it with ISTIO_VERSION (any pseudo-version the proxy serves).
#
# Istio's go.mod has no replace directives, but its programs are still built from a scratch module
# (requiring istio.io/istio alone, so its dependency versions are exactly the ones upstream pins) to
# share the build path of the other peers. The version stamp is the one Istio's
# common/scripts/report_build_info.sh gives, with the pseudo-version for the git revision.
# Cold build (empty Go build cache): about 7 minutes on two busy cores, pilot-discovery nearly 5 of
# them (the others mostly reuse its compiled packages).
set -euo pipefail
me=get-istio

istio_version="${ISTIO_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"
if [[ ! $istio_version =~ ^v0\.0\.0-[0-9]{14}-([0-9a-f]{12})$ ]]; then
  echo "$me: ISTIO_VERSION must be a pseudo-version such as v0.0.0-20260827124520-eed52ebb66ad, not $istio_version" >&2
  exit 2
fi
istio_commit="${BASH_REMATCH[1]}"
# shellcheck source=lib/build-from-proxy.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/build-from-proxy.sh"

programs=(pilot-discovery pilot-agent istioctl istio-cni)
declare -A package=(
  [pilot-discovery]=istio.io/istio/pilot/cmd/pilot-discovery
  [pilot-agent]=istio.io/istio/pilot/cmd/pilot-agent
  [istioctl]=istio.io/istio/istioctl/cmd/istioctl
  [istio-cni]=istio.io/istio/cni/cmd/istio-cni
)

begin "istio-$istio_version" "$@"
use_cached_or_prepare "Istio's programs ($istio_version)" "${programs[@]}"

enter_scratch_module istio istio.io/istio "$istio_version" "${package[@]}"
tidy_module "istio.io/istio $istio_version"
v=istio.io/istio/pkg/version
ldflags="-X $v.buildVersion=$istio_version -X $v.buildGitRevision=$istio_commit -X $v.buildStatus=Clean -X $v.buildTag=$istio_version -X $v.buildHub=none"
for name in "${programs[@]}"; do
  [[ -x $bindir/$name ]] || build "$name" "${package[$name]}" "$ldflags"
done

# Istio's programs print their version with a `version` subcommand, not --version (so not finish).
"$bindir/pilot-discovery" version --short >&2
"$bindir/pilot-agent" version --short >&2
"$bindir/istioctl" version --remote=false --short >&2
printf '%s\n' "$bindir"
