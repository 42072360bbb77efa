#!/usr/bin/env bash
# The main job on built-in defaults: inject the bundled example manifest (dry run, YAML on stdout,
# report on stderr), then print the capture rules the injected init container will apply.
set -euo pipefail
cd "$(dirname "$0")/.."
node dist/injector/bin/pillion.js inject -f examples/bookinfo-ratings.yaml
echo '---' >&2
echo '# capture rules the injected pillion-init container applies (dry run):' >&2
node dist/init/bin/pillion-init.js apply --dry-run
