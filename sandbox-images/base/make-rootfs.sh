#!/usr/bin/env bash
# Builds the Debian root filesystem shared by all sandbox images into DIR (run as root; DIR must not exist):
# debootstrap minbase, then apt-get install --no-install-recommends of packages.txt inside the chroot (apt
# resolves "a | b" dependencies the way packages.txt asks; debootstrap --include always takes the first).
# It must never leave the host's resolv.conf, hostname, apt lists/caches or setuid/setgid bits in the rootfs.
# Everything in this file and packages.txt is hashed into the image tags: an edit here rebuilds all images.
# Usage: make-rootfs.sh DIR MIRROR CACHE_DIR
set -euo pipefail
dir="$1" mirror="$2" cache="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$cache"

# Shows phases and every 25th per-package line of debootstrap and apt-get.
progress() {
  awk -v tag="$1" '/^(I: )?(Retrieving|Validating|Extracting|Unpacking|Configuring|Get:|Selecting|Preparing|Setting up) / {
         if (++n % 25) next; print "  " tag ": ... " $0 " (" n " package steps)"; fflush(); next }
       { print "  " tag ": " $0; fflush() }'
}

debootstrap --variant=minbase --cache-dir="$cache" bookworm "$dir" "$mirror" 2>&1 | progress debootstrap
cat >"$dir/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $mirror-security bookworm-security main
SOURCES
chroot "$dir" apt-get update -q 2>&1 | progress apt
mapfile -t packages < <(grep -v -e '^#' -e '^$' "$here/packages.txt")
chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" 2>&1 |
  progress apt
chroot "$dir" apt-get clean
[[ -x "$dir/usr/bin/python3" ]] || { echo "make-rootfs: no python3 in the rootfs" >&2; exit 1; }

# pip as the sandbox user: `pip install NAME` goes to the user site under HOME (/tmp/.local; Debian's
# EXTERNALLY-MANAGED marker would refuse even --user, and the system site is read-only anyway). No version check
# and no cache: runs reach only their allowlist, and /tmp is small. (airlock-python also imports that user site
# under `python3 -I`: python/airlock_user_site.py.)
cat >"$dir/etc/pip.conf" <<'PIPCONF'
[global]
disable-pip-version-check = true
no-cache-dir = true
[install]
user = true
break-system-packages = true
PIPCONF

rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin "$dir"/var/lib/apt/lists/* \
  "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/* \
  "$dir"/var/log/* "$dir"/tmp/* "$dir"/root/.cache
: >"$dir/etc/resolv.conf"
echo sandbox >"$dir/etc/hostname"
find "$dir" -xdev -type f -perm /6000 -exec chmod ug-s {} +
