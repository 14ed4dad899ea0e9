#!/usr/bin/env bash
# Builds the lab's container image with buildah from Debian's packages and the npm registry only — no image
# registry is needed (issue 37, ADR 0027): a Debian root file system by debootstrap through the mirror apt is
# configured with, Node.js from the npm registry, the lab's production dependencies and its build.
#
#   containers/build-image.sh [TAG]        (default cx700-lab:local; root, with buildah and debootstrap)
#
# Where an image registry is reachable, the Dockerfile builds the same layout from node:*-bookworm-slim.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${1:-cx700-lab:local}"
# Docker's image format: OCI's has no HEALTHCHECK.
export BUILDAH_FORMAT=docker
node_major="${CX700_IMAGE_NODE:-24}"
uid=900

for tool in buildah debootstrap npm; do
  command -v "$tool" >/dev/null || { echo "build-image: $tool is needed (apt-get install buildah debootstrap)" >&2; exit 2; }
done
[ -d node_modules ] || { echo "build-image: run npm ci first (the build needs the dev dependencies)" >&2; exit 2; }

work="$(mktemp -d)"
ctr=""
cleanup() {
  [ -n "$ctr" ] && buildah rm "$ctr" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# The suite this machine runs, and the first Debian mirror apt is configured with (deb822 or one-line form):
# the image comes from where this machine's packages come from, whatever that is.
suite="$(. /etc/os-release && echo "${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}")"
mirror="$(
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { print $2 }'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" { print ($2 ~ /^\[/ ? $3 : $2) }'
  } | grep -v -e security -e '^$' | grep -m1 -i debian || true
)"
[ -n "$mirror" ] || { echo "build-image: no Debian mirror in apt's sources" >&2; exit 2; }

echo "== root file system: debootstrap $suite from $mirror"
rootfs="$work/rootfs"
debootstrap --variant=minbase --include=iproute2 "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$rootfs"/usr/share/{doc,man,info,locale}/* "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/*
chroot "$rootfs" useradd --system --uid "$uid" --user-group --home-dir /state --no-create-home cx700
mkdir -p "$rootfs/state" && chown "$uid:$uid" "$rootfs/state"

echo "== Node.js $node_major from the npm registry"
npm install --prefix "$work/node" --no-save --no-audit --no-fund "node@$node_major" >/dev/null
install -m 0755 "$(readlink -f "$work/node/node_modules/.bin/node")" "$rootfs/usr/local/bin/node"

echo "== the lab: its build and production dependencies"
npm run build >/dev/null
app="$rootfs/app"
mkdir -p "$app"
cp -a dist scenarios package.json package-lock.json "$app/"
npm ci --prefix "$app" --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null
rm -f "$app/package-lock.json"

echo "== image $tag"
ctr="$(buildah from scratch)"
mnt="$(buildah mount "$ctr")"
cp -a "$rootfs/." "$mnt/"
buildah umount "$ctr" >/dev/null
# The lab CA and the leases live in /state: mount a volume there, so phones keep trusting the lab. No ports are
# EXPOSEd: podman's Docker API reports an image's exposed ports as unbound port bindings, on which testcontainers
# waits for ever (compose.yaml lists what the lab binds).
buildah config \
  --user cx700 --workingdir /app \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env XDG_STATE_HOME=/state --env NODE_ENV=production \
  --volume /state \
  --healthcheck 'CMD node -e "fetch(\"http://127.0.0.1:8700/health\").then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"' \
  --healthcheck-interval 10s --healthcheck-timeout 3s --healthcheck-start-period 20s --healthcheck-retries 3 \
  --entrypoint '["node", "/app/dist/cli/main.js"]' \
  --cmd 'up --mode netns --interface eth0 --admin 127.0.0.1:8700' \
  --label org.opencontainers.image.title=cx700-lab \
  --label org.opencontainers.image.description="cx700-lab — TEST LAB ONLY" \
  "$ctr"
buildah commit --quiet --format docker --rm "$ctr" "$tag" >/dev/null
ctr=""
size="$(podman image inspect --format '{{.Size}}' "$tag" 2>/dev/null || echo 0)"
echo "== built $tag ($((size / 1024 / 1024)) MiB)"
