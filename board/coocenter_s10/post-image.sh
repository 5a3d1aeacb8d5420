#!/bin/sh
# post-image.sh IMAGES_DIR: assemble IMAGES_DIR/disk.img from the images the build made.
#
# Needs in IMAGES_DIR: Image (arm64 kernel, uncompressed or gzip), kernel.release and
# rootfs.squashfs. Builds initramfs.cpio.gz (initramfs/build.py; INITRAMFS_PREBUILT=1 keeps the
# one already there, as tests/qemu/standin.py does). Checks that the rootfs keeps the contract of the board (read-only root
# with its mount points, no device secrets inside), stages the boot files with extlinux.conf
# and the factory slot state, runs genimage (genimage.cfg) in a temporary directory and renames
# the result to disk.img only when everything succeeded: a failed run leaves no disk.img.
set -eu

die() {
    echo "post-image: $*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: post-image.sh IMAGES_DIR"
BOARD_DIR=$(dirname "$(realpath "$0")")
IMAGES=$(realpath "$1")
[ -d "$IMAGES" ] || die "no images directory $IMAGES"

# Host tools: genimage calls mkdosfs/mcopy/mmd (vfat) and mke2fs (ext4).
for tool in genimage mkdosfs mcopy mmd mke2fs unsquashfs; do
    command -v "$tool" >/dev/null 2>&1 || die "missing host tool '$tool' (Debian packages: \
genimage dosfstools mtools e2fsprogs squashfs-tools)"
done

# A stale disk.img from an earlier build must not pass for this one.
rm -f "$IMAGES/disk.img"

for input in Image rootfs.squashfs; do
    [ -s "$IMAGES/$input" ] || die "missing $IMAGES/$input"
done

rootfs=$IMAGES/rootfs.squashfs
[ "$(head -c 4 "$rootfs")" = hsqs ] || die "$rootfs is not a squashfs image"
listing=$(unsquashfs -l "$rootfs" 2>/dev/null) || die "cannot list $rootfs (damaged?)"
for dir in data run tmp var dev proc sys; do
    echo "$listing" | grep -qx "squashfs-root/$dir" ||
        die "rootfs.squashfs has no /$dir: the initramfs mounts onto it (read-only root)"
done
echo "$listing" | grep -qxE 'squashfs-root/(usr/)?sbin/init' ||
    die "rootfs.squashfs has no /sbin/init"
# Device secrets are made on the device (coocenter-firstboot), never shipped in the image.
keys=$(echo "$listing" | grep -E '^squashfs-root/etc/ssh/ssh_host_.*_key(\.pub)?$' || true)
[ -z "$keys" ] || die "rootfs.squashfs contains SSH host keys (remove them at post-build): $keys"
machine_id=$(unsquashfs -cat "$rootfs" etc/machine-id 2>/dev/null || true)
[ -z "$machine_id" ] || [ "$machine_id" = uninitialized ] ||
    die "rootfs.squashfs has a machine-id ($machine_id): every device would share it; \
ship an empty /etc/machine-id"

tmp=$(mktemp -d "$IMAGES/.post-image.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/input" "$tmp/root" "$tmp/genimage-tmp" "$tmp/out"

# The initramfs, built natively from the image's own kernel modules (so they always match the
# kernel) and Debian's static busybox: TARGET_DIR's modules when the build driver set it, else
# the ones inside rootfs.squashfs. BUSYBOX=PATH skips the download of busybox-static.
if [ -z "${INITRAMFS_PREBUILT:-}" ]; then
    release=$(cat "$IMAGES/kernel.release" 2>/dev/null) ||
        die "missing $IMAGES/kernel.release (the kernel package names its release there)"
    modules=${TARGET_DIR:-/nonexistent}/usr/lib/modules/$release
    if [ ! -f "$modules/modules.dep" ]; then
        unsquashfs -q -n -d "$tmp/modules-root" "$rootfs" "usr/lib/modules/$release" \
            >/dev/null 2>&1 || die "cannot extract usr/lib/modules/$release from $rootfs"
        modules=$tmp/modules-root/usr/lib/modules/$release
        [ -f "$modules/modules.dep" ] || die "rootfs.squashfs has no modules.dep for $release"
    fi
    base=${BASE_DIR:-$(dirname "$IMAGES")}
    if [ -z "${BUSYBOX:-}" ]; then
        suite=trixie
        mirror=
        if [ -n "${BR2_CONFIG:-}" ] && [ -f "$BR2_CONFIG" ]; then
            suite=$(sed -n 's/^BR2_DEBIAN_SUITE="\(.*\)"$/\1/p' "$BR2_CONFIG")
            mirror=$(sed -n 's/^BR2_DEBIAN_MIRROR="\(.*\)"$/\1/p' "$BR2_CONFIG")
        fi
        DEBIAN_MIRROR=${mirror:-${DEBIAN_MIRROR:-http://deb.debian.org/debian}} \
            "$BOARD_DIR/fetch-debs.sh" "$base/cache/board" "${suite:-trixie}" arm64 \
            "$base/build/board-debs" busybox-static >/dev/null ||
            die "cannot fetch busybox-static (arm64) for the initramfs"
        BUSYBOX=$base/build/board-debs/usr/bin/busybox
    fi
    python3 "$BOARD_DIR/initramfs/build.py" "$modules" "$BUSYBOX" "$IMAGES/initramfs.cpio.gz" ||
        die "building the initramfs failed"
fi
[ -s "$IMAGES/initramfs.cpio.gz" ] || die "missing $IMAGES/initramfs.cpio.gz"

# The kernel on the boot partition must be the uncompressed Image U-Boot's booti loads.
kernel=$IMAGES/Image
if [ "$(head -c 2 "$kernel" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
    gzip -dc "$kernel" >"$tmp/input/Image" || die "cannot decompress $kernel"
    kernel=$tmp/input/Image
else
    ln -s "$kernel" "$tmp/input/Image"
fi
[ "$(dd if="$kernel" bs=1 skip=56 count=4 2>/dev/null)" = "$(printf 'ARM\144')" ] ||
    die "$IMAGES/Image is not an arm64 kernel Image"
ln -s "$IMAGES/initramfs.cpio.gz" "$tmp/input/initramfs.cpio.gz"
ln -s "$rootfs" "$tmp/input/rootfs.squashfs"
cp "$BOARD_DIR/extlinux.conf" "$tmp/input/extlinux.conf"
cp "$BOARD_DIR/slot.env" "$tmp/input/slot.env"

# genimage writes every partition image and then the disk: about twice the allocated size.
need_kib=$(( ($(du -kL "$tmp/input/Image" "$IMAGES/initramfs.cpio.gz" "$rootfs" |
    awk '{ s += $1 } END { print s }') * 3 + 300 * 1024) ))
free_kib=$(df -Pk "$IMAGES" | awk 'NR == 2 { print $4 }')
[ "$free_kib" -ge "$need_kib" ] ||
    die "not enough free space in $IMAGES: ${free_kib} KiB free, about ${need_kib} KiB needed"

if ! genimage --config "$BOARD_DIR/genimage.cfg" --inputpath "$tmp/input" \
    --outputpath "$tmp/out" --rootpath "$tmp/root" --tmppath "$tmp/genimage-tmp" \
    >"$tmp/genimage.log" 2>&1; then
    cat "$tmp/genimage.log" >&2
    df -h "$IMAGES" >&2
    die "genimage failed (log above)"
fi
mv "$tmp/out/disk.img" "$IMAGES/disk.img"
echo "post-image: $IMAGES/disk.img ($(du -h --apparent-size "$IMAGES/disk.img" | cut -f1) \
apparent, $(du -h "$IMAGES/disk.img" | cut -f1) allocated)"
