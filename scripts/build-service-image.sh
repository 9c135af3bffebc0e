#!/usr/bin/env bash
# Builds airlock-service, the one image of a scaled-out Airlock (roles gateway, worker, egress-proxy, nats; see
# deploy/image/Dockerfile), FROM the sandbox images' Debian base (airlock-base:<hash>, built by build-images.sh),
# with Node 24 from the `node` npm package, the app's production dependencies (npm ci --omit=dev into a staging
# dir), Debian's iptables and nats-server from this host. Tagged airlock-service:<hash of every input> and
# airlock-service:latest; never rebuilt while that tag exists. It must never pull from a registry, never run
# apt-get inside docker build, never copy test files, dev dependencies or secrets, and never remove an image in use.
# Usage: scripts/build-service-image.sh [--print]   (--print: only compute and print the tag, build nothing)
#   AIRLOCK_KEEP_STALE_IMAGES=1 keeps older airlock-service tags.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE_DIR="$REPO_DIR/deploy/image"
SANDBOX_DIR="$REPO_DIR/sandbox-images"
IMAGES_JSON="$SANDBOX_DIR/.built/images.json"
NODE_BINARY="$REPO_DIR/node_modules/node/bin/node"
DEB_CACHE=/var/cache/airlock-service-debs
REPO=airlock-service
# The workspaces whose processes the image runs; npm ci installs their production dependencies only.
ROLES=(services/gateway services/worker services/egress-proxy)
PRINT_ONLY=0
[[ "${1:-}" == --print ]] && PRINT_ONLY=1

say() { echo "build-service-image: $*"; }
die() { echo "build-service-image: error: $*" >&2; exit 1; }
sha() { sha256sum | cut -c1-12; }
mb() { awk '{printf "%d MB", $1 / 1e6}'; }

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "dockerd is not answering (run scripts/setup-host.sh as root)"
[[ -x "$NODE_BINARY" ]] || die "$NODE_BINARY missing (npm install puts Node 24 there)"
[[ -f "$IMAGES_JSON" ]] || die "$IMAGES_JSON missing (scripts/setup-host.sh builds the sandbox images)"
NATS_BINARY="$(command -v nats-server || true)"
[[ -n "$NATS_BINARY" ]] || die "nats-server not found (scripts/setup-host.sh installs it)"

# The sandbox images' base, named exactly as build-images.sh names it.
BASE_TAG="airlock-base:$(cat "$SANDBOX_DIR/base/make-rootfs.sh" "$SANDBOX_DIR/base/packages.txt" | sha)"

# The app as it runs: package manifests and sources of the runtime workspaces, without tests and fixtures.
app_files() {
  (
    cd "$REPO_DIR"
    echo package.json
    find services shared -mindepth 2 -maxdepth 2 -name package.json ! -path 'shared/testing/*'
    find services shared -path '*/src/*' -type f ! -path 'shared/testing/*' \
      ! -name '*.test.ts' ! -name '*fixture.ts' ! -name 'test-*.ts' ! -name '*-test-env.ts' ! -name '*.md'
    # The operator console's static files, which the gateway serves at /console.
    find services/gateway/console -type f
  ) | LC_ALL=C sort
}

# name_version_arch of every package in packages.txt, at the version this host has installed.
deb_names() {
  local pkg
  for pkg in $(grep -v -e '^#' -e '^$' "$IMAGE_DIR/packages.txt"); do
    dpkg-query -W -f='${Package}_${Version}_${Architecture}\n' "$pkg" 2>/dev/null ||
      die "Debian package $pkg is not installed on this host (scripts/setup-host.sh installs iptables)"
  done
}
deb_file() { echo "${1//:/%3a}.deb"; } # an epoch's ':' is '%3a' in .deb file names

# Copies each .deb from the apt cache, else downloads it once into DEB_CACHE (the host's apt sources).
stage_debs() {
  local dest="$1" name file
  mkdir -p "$dest" "$DEB_CACHE"
  # apt-get download fetches as _apt: the cache must be writable for it.
  id _apt >/dev/null 2>&1 && chown _apt "$DEB_CACHE"
  for name in $(deb_names); do
    file="$(deb_file "$name")"
    if [[ -f "/var/cache/apt/archives/$file" ]]; then cp "/var/cache/apt/archives/$file" "$dest/"
    else
      if [[ ! -f "$DEB_CACHE/$file" ]]; then
        local pkg="${name%%_*}" rest="${name#*_}"
        say "apt-get download ${pkg}=${rest%_*}"
        (cd "$DEB_CACHE" && apt-get download -q "${pkg}=${rest%_*}" >/dev/null) || die "could not download $pkg"
      fi
      cp "$DEB_CACHE/$file" "$dest/"
    fi
  done
}

input_hash() {
  {
    echo "base=$BASE_TAG"
    echo "node=$(sha256sum "$NODE_BINARY" | cut -c1-64)"
    echo "nats=$(sha256sum "$NATS_BINARY" | cut -c1-64)"
    deb_names
    cat "$IMAGE_DIR"/* "${BASH_SOURCE[0]}" "$REPO_DIR/package-lock.json" "$IMAGES_JSON"
    (cd "$REPO_DIR" && app_files | xargs sha256sum)
  } | sha
}

mkdir -p "$REPO_DIR/deploy/.built"
exec 9>"$REPO_DIR/deploy/.built/.lock"
flock 9 # one build at a time on this checkout

HASH="$(input_hash)"
TAG="$REPO:$HASH"
if [[ "$PRINT_ONLY" == 1 ]]; then echo "$TAG"; exit 0; fi

# Removes older airlock-service tags once the current one exists; images in use stay.
remove_stale() {
  [[ "${AIRLOCK_KEEP_STALE_IMAGES:-0}" == 1 ]] && return 0
  local ref err
  for ref in $(docker images "$REPO" --format '{{.Repository}}:{{.Tag}}'); do
    [[ "$ref" == "$TAG" || "$ref" == "$REPO:latest" ]] && continue
    if err="$(docker rmi "$ref" 2>&1 >/dev/null)"; then say "removed stale $ref"; else say "kept stale $ref: $err"; fi
  done
}

report() {
  local size base
  size="$(docker image inspect --format '{{.Size}}' "$TAG")"
  base="$(docker image inspect --format '{{.Size}}' "$BASE_TAG")"
  say "$TAG: $(echo "$size" | mb) (base $BASE_TAG $(echo "$base" | mb) + $(echo $((size - base)) | mb))"
}

if docker image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG up to date"
  docker tag "$TAG" "$REPO:latest"
  report
  remove_stale
  exit 0
fi

docker image inspect "$BASE_TAG" >/dev/null 2>&1 ||
  die "base image $BASE_TAG missing (scripts/setup-host.sh builds it with the sandbox images)"
start=$SECONDS
CONTEXT="$(mktemp -d /var/tmp/airlock-service.XXXXXX)"
trap 'rm -rf "$CONTEXT"' EXIT

say "staging the app ($(app_files | wc -l) files) into $CONTEXT"
mkdir -p "$CONTEXT/app/deploy" "$CONTEXT/app/sandbox-images/.built" "$CONTEXT/install"
(cd "$REPO_DIR" && app_files | xargs cp --parents -t "$CONTEXT/app")
cp "$IMAGE_DIR/egress-health.ts" "$CONTEXT/app/deploy/"
cp "$IMAGES_JSON" "$CONTEXT/app/sandbox-images/.built/"
cp "$IMAGE_DIR/Dockerfile" "$IMAGE_DIR/entrypoint.sh" "$IMAGE_DIR/healthcheck.sh" "$CONTEXT/"

# npm ci needs every workspace's manifest to match the lockfile; only the roles' production tree is installed.
say "npm ci --omit=dev for ${ROLES[*]}"
(cd "$REPO_DIR" && cp --parents package.json package-lock.json services/*/package.json shared/*/package.json \
  test/package.json "$CONTEXT/install/")
workspace_args=()
for role in "${ROLES[@]}"; do workspace_args+=(--workspace "$role"); done
(cd "$CONTEXT/install" && PATH="$REPO_DIR/node_modules/.bin:$PATH" npm ci --omit=dev --ignore-scripts \
  --prefer-offline --no-audit --no-fund "${workspace_args[@]}" 2>&1 | sed -e '/^$/d' -e 's/^/  npm: /')
mv "$CONTEXT/install/node_modules" "$CONTEXT/node_modules"
rm -rf "$CONTEXT/install" "$CONTEXT/node_modules/@airlock/testing" "$CONTEXT/node_modules/@airlock/test"
# Nothing a running process reads: packages' own tests, type declarations, source maps, docs, tarballs, other
# platforms' binaries.
shopt -s nullglob
for dir in "$CONTEXT"/node_modules/{[!@]*,@*/*}/{test,tests,__tests__}; do rm -rf "$dir"; done
shopt -u nullglob
find "$CONTEXT/node_modules" -type f \( -name '*.test.*' -o -name '*.spec.*' -o -name '*.d.ts' -o -name '*.d.mts' \
  -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' -o -name '*.markdown' -o -name '*.tgz' \) -delete
find "$CONTEXT/node_modules" -type d -path '*/prebuilds/*' -prune ! -name 'linux-x64*' -exec rm -rf {} +
rm -rf "$CONTEXT/node_modules/@types"

say "staging node $("$NODE_BINARY" --version) (stripped), $("$NATS_BINARY" --version), Debian packages"
cp "$NODE_BINARY" "$CONTEXT/node"
strip "$CONTEXT/node"
cp "$NATS_BINARY" "$CONTEXT/nats-server"
stage_debs "$CONTEXT/debs"
say "context: node $(du -sm "$CONTEXT/node" | cut -f1) MB, node_modules $(du -sm "$CONTEXT/node_modules" | cut -f1) MB," \
  "app $(du -sm "$CONTEXT/app" | cut -f1) MB, debs $(du -sm "$CONTEXT/debs" | cut -f1) MB"

version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$REPO_DIR/package.json")"
commit="$(git -C "$REPO_DIR" rev-parse HEAD 2>/dev/null || echo unknown)"
[[ -n "$(git -C "$REPO_DIR" status --porcelain -- services shared deploy/image package.json package-lock.json \
  2>/dev/null)" ]] && commit="$commit-dirty"
say "building $TAG (version ${version:-unknown}, commit $commit)"
if ! DOCKER_BUILDKIT=0 docker build --build-arg "BASE=$BASE_TAG" \
  --label airlock.image=service --label "airlock.hash=$HASH" \
  --label "org.opencontainers.image.version=${version:-unknown}" --label "org.opencontainers.image.revision=$commit" \
  --label "airlock.version.node=$("$NODE_BINARY" --version)" \
  -t "$TAG" "$CONTEXT" 2>&1 | sed -e '/DEPRECATED/d' -e '/BuildKit/d' -e '/buildx/d' -e '/environment-variable\.$/d' \
    -e '/^ *$/d' -e '/^ ---> /d' -e '/^Removing intermediate/d' -e 's/\x1b\[[0-9;]*m//g' -e 's/^/  docker build: /'; then
  die "docker build of $TAG failed"
fi
docker image inspect "$TAG" >/dev/null 2>&1 || die "docker build of $TAG produced no image"
docker tag "$TAG" "$REPO:latest"
say "$TAG built in $((SECONDS - start))s"
report
remove_stale
