#!/usr/bin/env bash
# Builds the upstream programs of a Kubernetes node (test peers only: an e2e test runs injected pods
# on a real node of its own) from the Go module proxy into a cache directory, unless they are
# already there: kubelet, kube-proxy, kube-scheduler and kube-controller-manager at the same
# Kubernetes version as scripts/get-kube-apiserver.sh, and crictl (cri-tools) of the same minor.
# Never product code. The container runtime (containerd, runc) and the CNI plugins are Debian
# packages (scripts/setup.sh --test-peers).
# stdout: the absolute path of the directory holding `kubelet`, `kube-proxy`, `kube-scheduler`,
# `kube-controller-manager` and `crictl` (and nothing else); logs go to stderr.
# Usage: get-kube-node.sh           build whatever is missing, print the directory
#        get-kube-node.sh --check   print the directory if all five are built; never builds
#                                   (exit 1 if any is absent)
# Exit codes: 0 all available; 1 not available and not built (--check, no Go toolchain, network or
# build failure); 2 bad usage.
# Environment: KUBE_VERSION, CRICTL_VERSION (defaults below), PILLION_CACHE (default
# ~/.cache/pillion).
#
# The four Kubernetes programs share one scratch module (k8s.io/kubernetes with its staging modules
# replaced by their published twins: enter_kube_module in lib/build-from-proxy.sh), so one
# dependency graph and one build cache serve them all. All are built with CGO_ENABLED=0: upstream
# links kubelet dynamically, but on linux its cgo only swaps Go's own DNS resolver and user lookup
# for glibc's, which a test node does not need. crictl requires k8s.io/* at versions of its own,
# so it gets a scratch module of its own (no replace directives there: only to keep the graphs
# apart and build it like the rest).
set -euo pipefail
me=get-kube-node

kube_version="${KUBE_VERSION:-v1.37.2}"
crictl_version="${CRICTL_VERSION:-v1.37.0}"
# shellcheck source=lib/build-from-proxy.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/build-from-proxy.sh"

kube_programs=(kubelet kube-proxy kube-scheduler kube-controller-manager)

begin_kube "kube-node-$kube_version-crictl-$crictl_version" "$@"
use_cached_or_prepare "kubelet, kube-proxy, kube-scheduler, kube-controller-manager $kube_version / crictl $crictl_version" \
  "${kube_programs[@]}" crictl

missing=()
for name in "${kube_programs[@]}"; do
  [[ -x $bindir/$name ]] || missing+=("$name")
done
if ((${#missing[@]})); then
  enter_kube_module kube-node "${kube_programs[@]/#/k8s.io/kubernetes/cmd/}"
  for name in "${missing[@]}"; do
    build "$name" "k8s.io/kubernetes/cmd/$name" "$kube_ldflags"
  done
fi

if [[ ! -x $bindir/crictl ]]; then
  enter_scratch_module crictl sigs.k8s.io/cri-tools "$crictl_version" sigs.k8s.io/cri-tools/cmd/crictl
  tidy_module "crictl $crictl_version"
  # What cri-tools' Makefile stamps: the tag without its v.
  build crictl sigs.k8s.io/cri-tools/cmd/crictl "-X sigs.k8s.io/cri-tools/pkg/version.Version=${crictl_version#v}"
fi

finish "${kube_programs[@]}" crictl
