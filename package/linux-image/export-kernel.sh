#!/bin/sh
# Copies the kernel out of the root filesystem to $BINARIES_DIR/Image (uncompressed arm64
# Image: U-Boot's booti and QEMU's -kernel both take it) and names its release in
# $BINARIES_DIR/kernel.release; /boot is emptied (the boot partition carries the kernel).
set -eu
release=$(ls "$TARGET_DIR/usr/lib/modules" | sort -V | tail -n 1)
[ -n "$release" ] || { echo "linux-image: no kernel modules directory in the rootfs" >&2; exit 1; }
vmlinuz="$TARGET_DIR/boot/vmlinuz-$release"
[ -f "$vmlinuz" ] || { echo "linux-image: $vmlinuz is missing" >&2; exit 1; }
if gzip -t "$vmlinuz" 2>/dev/null; then
    gzip -dc "$vmlinuz" > "$BINARIES_DIR/Image.tmp"
else
    cp "$vmlinuz" "$BINARIES_DIR/Image.tmp"
fi
mv "$BINARIES_DIR/Image.tmp" "$BINARIES_DIR/Image"
cp "$TARGET_DIR/boot/config-$release" "$BINARIES_DIR/kernel.config" 2>/dev/null || true
printf '%s\n' "$release" > "$BINARIES_DIR/kernel.release"
# Debian's device trees (56 MiB) are not needed by QEMU's virt machine (QEMU makes its own)
# and the product board brings its own: they leave the rootfs for $BINARIES_DIR/dtbs.
dtbs="$TARGET_DIR/usr/lib/linux-image-$release"
if [ -d "$dtbs" ]; then
    rm -rf "$BINARIES_DIR/dtbs"
    mv "$dtbs" "$BINARIES_DIR/dtbs"
fi
rm -f "$TARGET_DIR"/boot/vmlinuz-* "$TARGET_DIR"/boot/initrd.img-* "$TARGET_DIR"/boot/System.map-* \
      "$TARGET_DIR"/boot/config-* "$TARGET_DIR"/vmlinuz* "$TARGET_DIR"/initrd.img*
