"""Firmware build driver: Kconfig verbs, the cached Debian base layer, rootfs and squashfs.

Run from the top of the tree as ``python -m tools.build VERB`` (firmware.mk does). The layout and
the contracts with the board scripts are in docs/FIRMWARE.md; this package's own notes are in
tools/build/README.md.
"""
