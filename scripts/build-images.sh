#!/usr/bin/env bash
# Builds the sandbox images airlock-python, airlock-node, airlock-bash from sandbox-images/ (see CONTRACT.md):
# one shared Debian rootfs (debootstrap | docker import), then a small Dockerfile per image adding the runner and
# the statx fallback library (shim/).
# Each image is tagged by a hash of its inputs and never rebuilt while that tag exists; the resolved tags are
# written to sandbox-images/.built/images.json on every run. It must never pull from a registry, never run
# apt-get inside docker build, and never remove an image a container still uses.
# Usage: scripts/build-images.sh [--print]   (--print: only compute and write the tags, build nothing)
#   AIRLOCK_DEBIAN_MIRROR overrides the Debian mirror (default http://deb.debian.org/debian).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES_DIR="$REPO_DIR/sandbox-images"
BUILT_DIR="$IMAGES_DIR/.built"
NODE_BINARY="$REPO_DIR/node_modules/node/bin/node"
MIRROR="${AIRLOCK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBOOTSTRAP_CACHE=/var/cache/airlock-debootstrap
CONTRACT_VERSION=3
IMAGES=(python node bash)
PRINT_ONLY=0
[[ "${1:-}" == --print ]] && PRINT_ONLY=1

say() { echo "build-images: $*"; }
die() { echo "build-images: error: $*" >&2; exit 1; }
sha() { sha256sum | cut -c1-12; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "dockerd is not answering (run scripts/setup-host.sh as root)"
[[ -x "$NODE_BINARY" ]] || die "$NODE_BINARY missing (npm install puts Node 24 there)"
mkdir -p "$BUILT_DIR"
exec 9>"$BUILT_DIR/.lock"
flock 9 # one build at a time on this checkout

# --- input hashes ------------------------------------------------------------------------------------------
BASE_HASH="$(cat "$IMAGES_DIR/base/make-rootfs.sh" "$IMAGES_DIR/base/packages.txt" | sha)"
RUNNER_HASH="$({ cat "$IMAGES_DIR"/runner/*.c "$IMAGES_DIR"/runner/*.h "$IMAGES_DIR"/shim/*.c; gcc --version | head -n1; } | sha)"
NODE_HASH="$(sha256sum "$NODE_BINARY" | cut -c1-64)"
image_hash() {
  local name="$1"
  {
    echo "contract=$CONTRACT_VERSION base=$BASE_HASH runner=$RUNNER_HASH"
    # Every file of the image's folder goes into its build context and so into its hash.
    (cd "$IMAGES_DIR/$name" && find . -type f | LC_ALL=C sort | xargs cat)
    [[ "$name" == node ]] && echo "node=$NODE_HASH"
    true
  } | sha
}
BASE_TAG="airlock-base:$BASE_HASH"

# --- building blocks ---------------------------------------------------------------------------------------
build_base() {
  image_exists "$BASE_TAG" && return 0
  [[ "$(id -u)" == 0 ]] || die "building the base rootfs needs root (debootstrap, chroot)"
  command -v debootstrap >/dev/null || die "debootstrap not installed (run scripts/setup-host.sh as root)"
  local rootfs start=$SECONDS versions
  rootfs="$(mktemp -d /var/tmp/airlock-rootfs.XXXXXX)"
  # shellcheck disable=SC2064 # expand now: the trap must remove this rootfs
  trap "rm -rf '$rootfs'" EXIT
  say "base $BASE_TAG: debootstrap bookworm from $MIRROR (a few minutes)"
  rmdir "$rootfs"
  "$IMAGES_DIR/base/make-rootfs.sh" "$rootfs" "$MIRROR" "$DEBOOTSTRAP_CACHE"
  versions="$(chroot "$rootfs" python3 -c '
import platform, numpy, pandas, matplotlib, requests, pip
print(platform.python_version(), "numpy=" + numpy.__version__, "pandas=" + pandas.__version__,
      "matplotlib=" + matplotlib.__version__, "requests=" + requests.__version__, "pip=" + pip.__version__)')"
  local python_version="${versions%% *}" python_packages="${versions#* }"
  local bash_version
  bash_version="$(chroot "$rootfs" bash -c 'echo ${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}.${BASH_VERSINFO[2]}')"
  say "base: python $python_version ($python_packages), bash $bash_version; importing $(du -sm "$rootfs" | cut -f1) MB"
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change "LABEL airlock=1" --change "LABEL airlock.image=base" --change "LABEL airlock.hash=$BASE_HASH" \
    --change "LABEL airlock.version.python=$python_version" \
    --change "LABEL airlock.packages.python=\"$python_packages\"" \
    --change "LABEL airlock.version.bash=$bash_version" \
    - "$BASE_TAG" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  say "base $BASE_TAG built in $((SECONDS - start))s"
}

# The runner (static) and the statx fallback (a shared library the images' glibc loads), both from this host's gcc:
# the host is Debian bookworm like the images (HOST.md), so the library links against the same glibc.
RUNNER_BIN=""
SHIM_LIB=""
build_runner() {
  [[ -n "$RUNNER_BIN" ]] && return 0
  RUNNER_BIN="$BUILT_DIR/runner-$RUNNER_HASH"
  SHIM_LIB="$BUILT_DIR/statx-fallback-$RUNNER_HASH.so"
  [[ -x "$RUNNER_BIN" && -f "$SHIM_LIB" ]] && return 0
  say "compiling runner (gcc -static -O2) and the statx fallback (gcc -shared)"
  gcc -static -O2 -Wall -Wextra -Werror -o "$RUNNER_BIN.tmp" "$IMAGES_DIR"/runner/*.c ||
    die "runner did not compile (gcc and libc6-dev are needed: run scripts/setup-host.sh as root)"
  gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM_LIB.tmp" "$IMAGES_DIR"/shim/statx-fallback.c ||
    die "the statx fallback did not compile"
  strip "$RUNNER_BIN.tmp" "$SHIM_LIB.tmp"
  mv "$RUNNER_BIN.tmp" "$RUNNER_BIN"
  mv "$SHIM_LIB.tmp" "$SHIM_LIB"
  find "$BUILT_DIR" -maxdepth 1 \( \( -name 'runner-*' ! -name "$(basename "$RUNNER_BIN")" \) -o \
    \( -name 'statx-fallback-*' ! -name "$(basename "$SHIM_LIB")" \) \) -delete
}

base_label() { docker image inspect --format "{{index .Config.Labels \"$1\"}}" "$BASE_TAG"; }

build_image() {
  local name="$1" hash="$2" tag="airlock-$1:$2" context version start=$SECONDS
  build_base
  build_runner
  context="$(mktemp -d /var/tmp/airlock-context.XXXXXX)"
  cp -r "$IMAGES_DIR/$name/." "$context/"
  cp "$RUNNER_BIN" "$context/runner"
  cp "$SHIM_LIB" "$context/statx-fallback.so"
  case "$name" in
    python) version="$(base_label airlock.version.python)" ;;
    bash) version="$(base_label airlock.version.bash)" ;;
    node) cp "$NODE_BINARY" "$context/node"; version="$("$NODE_BINARY" --version)"; version="${version#v}" ;;
  esac
  say "building $tag"
  if ! DOCKER_BUILDKIT=0 docker build --build-arg "BASE=$BASE_TAG" \
    --label airlock=1 --label "airlock.image=$name" --label "airlock.hash=$hash" \
    --label "airlock.contract=$CONTRACT_VERSION" --label "airlock.version=$version" \
    -t "$tag" "$context" 2>&1 | sed -e '/DEPRECATED/d' -e '/BuildKit/d' -e '/buildx/d' -e '/environment-variable\.$/d' -e '/^ *$/d' -e '/^ ---> /d' \
      -e '/^Removing intermediate/d' -e 's/^/  docker build: /'; then
    rm -rf "$context"
    die "docker build of $tag failed"
  fi
  rm -rf "$context"
  image_exists "$tag" || die "docker build of $tag produced no image"
  say "$tag built in $((SECONDS - start))s ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1e6}'))"
}

# Removes older tags of airlock-NAME (and old bases) once the current one exists; in-use images stay.
remove_stale() {
  local repo="$1" keep="$2" ref
  for ref in $(docker images "$repo" --format '{{.Repository}}:{{.Tag}}'); do
    [[ "$ref" == "$keep" ]] && continue
    if err="$(docker rmi "$ref" 2>&1 >/dev/null)"; then say "removed stale $ref"; else say "kept stale $ref: $err"; fi
  done
}

# --- main --------------------------------------------------------------------------------------------------
declare -A TAGS
# Template builds (shared/sandbox/src/templates) copy the runner and the statx fallback from .built, so both are
# made here even when every image is already up to date (a clean clone on a host that kept its images).
[[ "$PRINT_ONLY" == 0 ]] && build_runner
# Services started before this build may still create containers from the older tags; keep them when asked.
KEEP_STALE="${AIRLOCK_KEEP_STALE_IMAGES:-0}"
for name in "${IMAGES[@]}"; do
  hash="$(image_hash "$name")"
  TAGS[$name]="airlock-$name:$hash"
  if image_exists "${TAGS[$name]}"; then
    say "${TAGS[$name]} up to date"
  elif [[ "$PRINT_ONLY" == 0 ]]; then
    build_image "$name" "$hash"
  else
    say "${TAGS[$name]} missing (not built: --print)"
  fi
  [[ "$KEEP_STALE" == 0 ]] && image_exists "${TAGS[$name]}" && remove_stale "airlock-$name" "${TAGS[$name]}"
done
[[ "$PRINT_ONLY" == 0 && "$KEEP_STALE" == 0 ]] && image_exists "$BASE_TAG" && remove_stale airlock-base "$BASE_TAG"

# images.json: what the docker/gvisor backends read (format in sandbox-images/CONTRACT.md).
{
  echo '{'
  echo "  \"contract\": $CONTRACT_VERSION,"
  echo '  "images": {'
  sep=','
  for name in "${IMAGES[@]}"; do
    [[ "$name" == "${IMAGES[-1]}" ]] && sep=''
    echo "    \"$name\": { \"tag\": \"${TAGS[$name]}\", \"hash\": \"${TAGS[$name]#*:}\" }$sep"
  done
  echo '  }'
  echo '}'
} >"$BUILT_DIR/images.json.tmp"
mv "$BUILT_DIR/images.json.tmp" "$BUILT_DIR/images.json"
say "wrote ${BUILT_DIR#"$REPO_DIR/"}/images.json"
