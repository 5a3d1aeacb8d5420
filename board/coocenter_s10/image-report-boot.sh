#!/bin/sh
# image-report-boot.sh IMAGES_DIR: boot-to-pbxd-ready time of disk.img on the QEMU twin
# (`make image-report`). Boots a copy; the built image is not changed. Needs root (the guest
# runs in a network namespace of its own) and the repository's venv (pexpect).
set -eu
top=${TOPDIR:-$(dirname "$0")/../..}
cd "$top"
python=.venv/bin/python
[ -x "$python" ] || python=python3
exec "$python" -m tests.qemu.boot_time "${1:-output/images}"
