#!/bin/sh
# fetch-debs.sh CACHE_DIR SUITE ARCH DEST_DIR PACKAGE...
#
# Downloads Debian binary packages (the named ones only, no dependencies) with apt-get run in a
# private apt root under CACHE_DIR, so the host's own apt setup and architecture list stay
# untouched. Then unpacks each .deb into DEST_DIR (dpkg-deb -x: no maintainer scripts run).
# A package name may be a metapackage: `linux-image-arm64` is resolved to the kernel package
# it depends on. Prints the exact package versions it unpacked.
set -eu

die() { echo "fetch-debs: $*" >&2; exit 1; }
[ $# -ge 5 ] || die "usage: fetch-debs.sh CACHE_DIR SUITE ARCH DEST_DIR PACKAGE..."
cache=$1 suite=$2 arch=$3 dest=$4
shift 4
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

for tool in apt-get apt-cache dpkg-deb; do
    command -v "$tool" >/dev/null || die "missing host tool: $tool"
done
[ -r "$keyring" ] || die "missing $keyring (apt-get install debian-archive-keyring)"

root=$(realpath -m "$cache")/apt-$suite-$arch
mkdir -p "$root/etc/apt/apt.conf.d" "$root/etc/apt/preferences.d" "$root/etc/apt/sources.list.d" \
    "$root/var/lib/apt/lists/partial" "$root/var/cache/apt/archives/partial" "$root/var/lib/dpkg" \
    "$dest"
: >>"$root/var/lib/dpkg/status"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$root/etc/apt/sources.list"

apt_opts="-o Dir=$root -o Dir::State::status=$root/var/lib/dpkg/status
    -o APT::Architecture=$arch -o APT::Architectures=$arch
    -o Dir::Etc::Trusted=/nonexistent -o Dir::Etc::TrustedParts=/nonexistent
    -o Debug::NoLocking=1 -o Acquire::Languages=none -o APT::Sandbox::User=root"

# Refresh the index at most once a day.
stamp=$root/var/lib/apt/lists/.stamp
if [ -z "$(find "$stamp" -mtime -1 2>/dev/null)" ]; then
    # shellcheck disable=SC2086
    apt-get $apt_opts -q update >"$root/update.log" 2>&1 ||
        die "apt-get update for $suite/$arch failed (network? see $root/update.log)"
    touch "$stamp"
fi

for pkg in "$@"; do
    # a metapackage (linux-image-arm64) is replaced by the real package it depends on
    # shellcheck disable=SC2086
    real=$(apt-cache $apt_opts depends "$pkg" 2>/dev/null |
        sed -n "s/^ *Depends: \(linux-image-[0-9][^ ]*\)\$/\1/p" | head -n1)
    [ -n "$real" ] && pkg=$real
    # shellcheck disable=SC2086
    (cd "$root/var/cache/apt/archives" && apt-get $apt_opts -q download "$pkg" >/dev/null) ||
        die "cannot download $pkg from $suite/$arch"
    deb=$(ls -t "$root/var/cache/apt/archives/${pkg}_"*"_$arch.deb" 2>/dev/null | head -n1)
    [ -n "$deb" ] || die "downloaded $pkg but found no .deb"
    dpkg-deb -x "$deb" "$dest"
    echo "$(basename "$deb")"
done
