#!/bin/sh
# post-build.sh TARGET_DIR: make the assembled rootfs fit the board before it is squashed.
#
# The root is a read-only squashfs shared by every device, so: the mount points the initramfs
# uses must exist in it, and nothing that identifies one device may be in it (the device makes
# its own at first boot into /data: coocenter-firstboot).
set -eu

die() {
    echo "post-build: $*" >&2
    exit 1
}

[ $# -ge 1 ] && [ -d "$1" ] || die "usage: post-build.sh TARGET_DIR"
target=$1

# mount points of the initramfs (initramfs/init) and of slotctl's boot partition
for dir in data boot run tmp var var/volatile dev proc sys; do
    mkdir -p "$target/$dir"
done

# device identity: made on the device, never shipped
rm -f "$target"/etc/ssh/ssh_host_*_key "$target"/etc/ssh/ssh_host_*_key.pub
# an empty machine-id (not a missing one): systemd mounts a transient id over it at boot
: >"$target/etc/machine-id"
rm -f "$target/var/lib/dbus/machine-id" "$target/var/lib/systemd/random-seed"

# the board's tools must have come in with board/coocenter_s10/rootfs_overlay
for file in usr/lib/coocenter/slot.sh usr/lib/coocenter/board.sh usr/sbin/slotctl \
    usr/libexec/coocenter/mark-good usr/libexec/coocenter/firstboot; do
    [ -f "$target/$file" ] ||
        die "/$file is missing: add board/coocenter_s10/rootfs_overlay to BR2_ROOTFS_OVERLAY"
done
