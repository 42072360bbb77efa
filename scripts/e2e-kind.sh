#!/usr/bin/env bash
# `npm run e2e:kind`: the injected-pods suite (e2e/cluster/mesh-suite.ts, the same one `npm test`
# runs on its own real node) on a throwaway kind cluster, for anyone with Docker and network
# access. Creates the cluster, builds the images from the Dockerfiles as shipped (plus the test
# app), loads them into the cluster, runs the suite in init mode (deploy/self-signed) and again in
# CNI mode (deploy/self-signed + deploy/cni/component), and deletes the cluster whatever happened.
# Needs on PATH: docker (with a running engine), kind, kubectl, node/npm. Exit code: the suite's.
# Environment: KIND_NODE_IMAGE (optional kindest/node image, e.g. kindest/node:v1.33.1).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in docker kind kubectl node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "e2e-kind: needs $tool on PATH" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "e2e-kind: docker has no engine to talk to" >&2; exit 1; }

cluster="pillion-e2e-$$"
work=$(mktemp -d)
cleanup() {
  kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The names the manifests and templates use (deploy/base/deployment.yaml, templates/values.yaml),
# so kubelets find them loaded and pull nothing of ours.
init_image=ghcr.io/pillion/pillion-init:0.1.0
injector_image=ghcr.io/pillion/pillion-injector:0.1.0
cni_image=ghcr.io/pillion/pillion-cni:0.1.0
echo_image=pillion.test/echo:1
haproxy_image=docker.io/library/haproxy:2.6

# Dual stack, like the harness's own node, so the suite's dual-stack checks run (kind's
# networking.ipFamily: kind gives its Docker network both families).
cat >"$work/kind.yaml" <<'KIND'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  ipFamily: dual
KIND
kind create cluster --name "$cluster" --config "$work/kind.yaml" --kubeconfig "$work/kubeconfig" --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} >&2
docker build -f Dockerfile.init -t "$init_image" . >&2
docker build -f Dockerfile.injector -t "$injector_image" . >&2
docker build -f Dockerfile.cni -t "$cni_image" . >&2
docker build -f e2e/images/echo/Dockerfile -t "$echo_image" e2e >&2
docker pull "$haproxy_image" >&2
for image in "$init_image" "$injector_image" "$cni_image" "$echo_image" "$haproxy_image"; do
  kind load docker-image --name "$cluster" "$image" >&2
done

npm run --silent build
PILLION_E2E_DUAL_STACK=1 KUBECONFIG="$work/kubeconfig" node --test --test-reporter=spec dist/e2e/cluster/external-cluster.js
