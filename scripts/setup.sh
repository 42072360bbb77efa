#!/usr/bin/env bash
# One-shot, idempotent set-up: Debian packages the tests and the demo need, the pinned Node they
# run on (scripts/node.sh), then npm packages.
# Safe to re-run; does nothing when everything is already present.
# --test-peers also installs a container runtime and an image builder, and builds what only the
# tests use: upstream programs (helm, kube-apiserver, etcd, and a node's kubelet, kube-proxy,
# kube-scheduler, kube-controller-manager and crictl; envoy-bootstrap-check) and the images.
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
  # And what builds the images it runs without a registry or a Docker engine.
  debs+=(buildah debootstrap)
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

# peer SCRIPT WHAT NEEDS: make sure scripts/SCRIPT has built its test peer (it caches in
# ~/.cache/pillion, so this is instant once built); when it cannot, say which tests will skip
# (and fail under CI=true). NEEDS: the command the build cannot do without.
peer() {
  local script=$1 what=$2 needs=$3
  bash "scripts/$script" --check >/dev/null 2>&1 && return 0
  if ! command -v "$needs" >/dev/null; then
    echo "setup: no $needs, so no $what; the tests that need it will skip (fail under CI=true)" >&2
  elif ! bash "scripts/$script" >/dev/null; then
    echo "setup: could not build $what (scripts/$script); the tests that need it will skip (fail under CI=true)" >&2
  fi
}

if ((test_peers)); then
  # Test peers only, never product code, none of them a Debian package; built once from the Go
  # module proxy (cold on two cores: about 2 + 10 + 12 + 2 minutes).
  # helm: test/deploy compares `helm template` with `kubectl kustomize`.
  peer get-helm.sh helm go
  # kube-apiserver and etcd: e2e/cluster runs the webhook behind a real API server.
  peer get-kube-apiserver.sh 'kube-apiserver and etcd' go
  # kubelet, kube-proxy, kube-scheduler, kube-controller-manager (the same Kubernetes version) and
  # crictl: e2e/cluster runs injected pods on a real node.
  peer get-kube-node.sh 'the node programs (kubelet and friends)' go
  # envoy-bootstrap-check: every rendered Envoy bootstrap is checked with Envoy's own API
  # (go-control-plane).
  peer get-envoy-check.sh envoy-bootstrap-check go
  # The images the real node runs, built from Dockerfile.init and Dockerfile.injector as shipped
  # (plus test apps) with buildah on a Debian base made by debootstrap: about 4 minutes cold, and
  # again whenever their sources change.
  peer build-images.sh 'the container images' buildah
fi

# The pinned Node LTS the build, lint, tests and demo run on (package.json runs them through
# scripts/node.sh), whatever Node the machine has: fetched once into the cache. npm ci below stays
# on the machine's Node and npm.
bash scripts/node.sh --fetch >/dev/null || {
  echo "setup: could not fetch the pinned Node (scripts/node.sh)" >&2
  exit 1
}

# npm ci only when the lockfile changed since the last install.
stamp=node_modules/.pillion-lock-stamp
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi
