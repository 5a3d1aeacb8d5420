# Firmware verbs (Buildroot's names), included at the end of the Makefile. The work is done by
# the Python driver in tools/build (kconfiglib); see docs/FIRMWARE.md and tools/build/README.md.
#   make coocenter_s10_defconfig   .config from configs/coocenter_s10_defconfig (any *_defconfig)
#   make menuconfig | savedefconfig | list-defconfigs
#   make image          output/images/rootfs.squashfs, Image, then the board's disk.img
#   make rootfs         output/images/rootfs.squashfs only
#   make image-report   sizes of the images and of the biggest packages (+ the board's boot time)
#   make clean          drop output/build and output/images (keeps the base layer cache)
#   make distclean      drop output/ entirely
# O=dir puts the output elsewhere (default output/); .config lives in $(O)/.config.

FW_OUTPUT := $(abspath $(or $(O),output))
FW        := O=$(FW_OUTPUT) $(PY) -m tools.build
FW_BOARD  := $(or $(shell sed -n 's/^BR2_BOARD_NAME="\(.*\)"/\1/p' $(FW_OUTPUT)/.config 2>/dev/null),coocenter_s10)
FW_STAMP  := $(VENV)/.stamp-firmware

.PHONY: menuconfig savedefconfig list-defconfigs image rootfs base-layer image-report clean \
	distclean qemu test-qemu deps-firmware

# Host tools of the firmware build and of the QEMU twin, from Debian.
FW_DEBS := mmdebstrap qemu-user-static binfmt-support debian-archive-keyring squashfs-tools \
	genimage mtools dosfstools e2fsprogs busybox-static qemu-system-arm u-boot-qemu espeak-ng

# Installs them and lets the host run arm64 binaries (mmdebstrap's maintainer scripts).
deps-firmware:
	@$(MAKE) --no-print-directory apt-install DEBS="$(FW_DEBS)"
	@test -f /proc/sys/fs/binfmt_misc/status || \
		$(SUDO) mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	@$(SUDO) update-binfmts --enable qemu-aarch64

# The driver needs kconfiglib in the venv (also in the `test` extra).
$(FW_STAMP): | $(VENV)/bin/python
	$(PY) -c 'import kconfiglib' 2>/dev/null || $(PIP) install -q kconfiglib
	touch $@

%_defconfig: $(FW_STAMP)
	@$(FW) defconfig $@

menuconfig: $(FW_STAMP)
	@$(FW) menuconfig

savedefconfig: $(FW_STAMP)
	@$(FW) savedefconfig $(DEFCONFIG)

list-defconfigs: $(FW_STAMP)
	@$(FW) list-defconfigs

# The Debian base layer alone (output/cache/base-<key>.tar).
base-layer: $(FW_STAMP) deps-firmware
	@$(FW) base

image: $(FW_STAMP) deps-firmware
	@$(FW) image

rootfs: $(FW_STAMP) deps-firmware
	@$(FW) rootfs

image-report: $(FW_STAMP)
	@$(FW) image-report

clean: $(FW_STAMP)
	@$(FW) clean

distclean: $(FW_STAMP)
	@$(FW) distclean

# The board's QEMU twin: board/<board>/qemu.py boots output/images/disk.img (QEMU_ARGS: more
# options for it, e.g. QEMU_ARGS=--snapshot).
qemu:
	@test -f board/$(FW_BOARD)/qemu.py || { echo "board/$(FW_BOARD)/qemu.py does not exist" >&2; exit 2; }
	@test -f $(FW_OUTPUT)/images/disk.img || { echo "no $(FW_OUTPUT)/images/disk.img: run make image" >&2; exit 2; }
	$(PY) board/$(FW_BOARD)/qemu.py --disk $(FW_OUTPUT)/images/disk.img $(QEMU_ARGS)

# A fresh tree has no .config yet: the product's defconfig.
$(FW_OUTPUT)/.config: | $(FW_STAMP)
	@$(FW) defconfig coocenter_s10_defconfig

# Hardware-in-the-loop tests: build the image from this tree (the base layer comes from the
# cache when there is one), then boot it under QEMU (tests/qemu, marker qemu).
test-qemu: $(VENV)/.stamp-test deps-firmware $(FW_OUTPUT)/.config
	@$(FW) image
	$(PY) -m pytest tests/qemu -q -m qemu
