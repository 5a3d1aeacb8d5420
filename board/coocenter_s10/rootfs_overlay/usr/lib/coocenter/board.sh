# board.sh: the disk layout of the CooCenter S10, shared by the initramfs /init (busybox ash)
# and the tools in the rootfs (dash). Partitions are found by their GPT names (genimage.cfg),
# never by number or kernel name, so eMMC (mmcblk0pN) and the QEMU twin (vdaN) read the same.

BOARD_PART_BOOT=boot
BOARD_PART_DATA=data
BOARD_SLOT_FILE=slot.env          # on the boot partition
# what the initramfs tells userspace about this boot; the overrides are for host tests
BOARD_RUN_DIR=${BOARD_RUN_DIR:-/run/coocenter}
BOARD_BOOT_ENV=${BOARD_BOOT_ENV:-$BOARD_RUN_DIR/boot.env}
BOARD_SYSFS=${BOARD_SYSFS:-/sys}

# board_slot_partname SLOT: the GPT name of a slot's rootfs partition.
board_slot_partname() {
    case "$1" in
        A) echo rootfs_a ;;
        B) echo rootfs_b ;;
        *) return 1 ;;
    esac
}

# board_partition NAME [DISK]: print /dev/<node> of the partition named NAME, looking only at
# partitions of DISK (e.g. vda, mmcblk0) when given. Status 1 when there is none.
board_partition() {
    if [ -n "${2:-}" ]; then
        set -- "$1" "$BOARD_SYSFS/class/block/$2/$2"*/uevent
    else
        set -- "$1" "$BOARD_SYSFS"/class/block/*/uevent
    fi
    _want=$1
    shift
    for _uevent in "$@"; do
        [ -r "$_uevent" ] || continue
        _partname=
        _devname=
        while IFS='=' read -r _key _value; do
            case "$_key" in
                PARTNAME) _partname=$_value ;;
                DEVNAME) _devname=$_value ;;
            esac
        done <"$_uevent"
        if [ "$_partname" = "$_want" ] && [ -n "$_devname" ]; then
            echo "/dev/$_devname"
            return 0
        fi
    done
    return 1
}

# board_disk_of PARTITION_NODE: the kernel name of the disk holding a partition (vda1 -> vda).
board_disk_of() {
    _sys=$(readlink -f "$BOARD_SYSFS/class/block/${1#/dev/}") || return 1
    _sys=${_sys%/*}
    echo "${_sys##*/}"
}
