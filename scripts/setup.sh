#!/usr/bin/env bash
# One-shot, idempotent set-up: Debian packages the tests and the demo need, then npm packages.
# Safe to re-run; does nothing when everything is already present.
# --test-peers also installs a container runtime and builds the upstream programs only the tests use
# (helm, kube-apiserver, etcd, and a node's kubelet, kube-proxy, kube-scheduler,
# kube-controller-manager and crictl).
set -euo pipefail
cd "$(dirname "$0")/.."

test_peers=0
case "${1:-}" in
  '') ;;
  --test-peers) test_peers=1 ;;
  *) echo "setup: unknown argument: $1 (usage: setup.sh [--test-peers])" >&2; exit 2 ;;
esac

debs=(iptables nftables haproxy iproute2 containernetworking-plugins openssl python3 procps)
if ((test_peers)); then
  # What a Kubernetes node needs beyond the list above (the e2e tests run pods on one; the demo does
  # not): containerd as the CRI runtime and runc under it, and mount, whose mount and losetup
  # kubelet calls. (kube-proxy needs no conntrack binary since 1.32, containerd no socat.)
  debs+=(containerd runc mount)
fi
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "setup: missing Debian packages (${missing[*]}); not root, so privileged tests will skip" >&2
  fi
fi

if ((test_peers)); then
  # helm is a test peer only (test/deploy compares `helm template` with `kubectl kustomize`) and no
  # Debian package: build it once from the Go module proxy (~2 minutes, cached in ~/.cache/pillion).
  if ! bash scripts/get-helm.sh --check >/dev/null 2>&1; then
    if command -v go >/dev/null; then
      bash scripts/get-helm.sh >/dev/null || echo "setup: could not build helm; the helm-vs-kustomize tests will skip (fail under CI=true)" >&2
    else
      echo "setup: no Go toolchain, so no helm; the helm-vs-kustomize tests will skip (fail under CI=true)" >&2
    fi
  fi

  # kube-apiserver and etcd are test peers only (e2e/cluster runs the webhook behind a real API
  # server) and no Debian package either: built once from the Go module proxy (~10 minutes on two
  # cores, cached in ~/.cache/pillion).
  if ! bash scripts/get-kube-apiserver.sh --check >/dev/null 2>&1; then
    if command -v go >/dev/null; then
      bash scripts/get-kube-apiserver.sh >/dev/null || echo "setup: could not build kube-apiserver/etcd; the real-API-server e2e test will skip (fail under CI=true)" >&2
    else
      echo "setup: no Go toolchain, so no kube-apiserver; the real-API-server e2e test will skip (fail under CI=true)" >&2
    fi
  fi

  # kubelet, kube-proxy, kube-scheduler, kube-controller-manager (the same Kubernetes version) and
  # crictl are test peers only (the e2e tests run injected pods on a real node) and no Debian
  # package either: built once from the Go module proxy (~20 minutes on two cores, cached in
  # ~/.cache/pillion).
  if ! bash scripts/get-kube-node.sh --check >/dev/null 2>&1; then
    if command -v go >/dev/null; then
      bash scripts/get-kube-node.sh >/dev/null || echo "setup: could not build kubelet/kube-proxy/kube-scheduler/kube-controller-manager/crictl; the real-node e2e tests will skip (fail under CI=true)" >&2
    else
      echo "setup: no Go toolchain, so no kubelet; the real-node e2e tests will skip (fail under CI=true)" >&2
    fi
  fi
fi

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.pillion-lock-stamp
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi
