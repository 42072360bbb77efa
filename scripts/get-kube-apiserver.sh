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
# kube-apiserver comes from a scratch module that requires k8s.io/kubernetes with its staging
# modules replaced by their published twins (why: enter_kube_module in lib/build-from-proxy.sh).
# etcd's server module (its root package is etcd's main) has `replace => ../api` directives
# too, so it gets a scratch module of its own (kept apart so the two dependency graphs stay exactly
# the ones upstream pins).
set -euo pipefail
me=get-kube-apiserver

# etcd: the version that k8s.io/kubernetes pins in hack/lib/etcd.sh for its own integration tests.
kube_version="${KUBE_VERSION:-v1.37.2}"
etcd_version="${ETCD_VERSION:-v3.7.0}"
# shellcheck source=lib/build-from-proxy.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/build-from-proxy.sh"

begin_kube "kube-$kube_version-etcd-$etcd_version" "$@"
use_cached_or_prepare "kube-apiserver $kube_version / etcd $etcd_version" kube-apiserver etcd

if [[ ! -x $bindir/kube-apiserver ]]; then
  enter_kube_module kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
  build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
fi

if [[ ! -x $bindir/etcd ]]; then
  enter_scratch_module etcd go.etcd.io/etcd/server/v3 "$etcd_version" go.etcd.io/etcd/server/v3
  tidy_module "etcd $etcd_version"
  build etcd go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=module-$etcd_version"
fi

finish kube-apiserver etcd
