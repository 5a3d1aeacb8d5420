# slot.sh: A/B boot slot state with try counters (RAUC's semantics), POSIX sh.
#
# Sourced by the initramfs /init (busybox ash) and by slotctl in the rootfs (dash). The state is
# a small KEY=VALUE file on the boot partition, the same variables RAUC's U-Boot integration
# keeps in the U-Boot environment, so that the choice can move into the bootloader later:
#
#   BOOT_ORDER="A B"    slots in the order they are tried; a slot not listed is never booted
#   BOOT_A_LEFT=3       boot attempts left for slot A
#   BOOT_B_LEFT=3
#
# Each boot attempt takes one try from the first slot in BOOT_ORDER that has tries left. A slot
# with none left is skipped: that is the fallback. Once the system is healthy the try counter of
# the booted slot is set back to its maximum (slot_mark_good). When no slot has tries left, all
# counters are reset and the first slot of BOOT_ORDER is booted (RAUC's U-Boot script resets
# the counters and the board the same way: a device that never boots is worse than a retry).
#
# The file is parsed, never sourced: a damaged boot partition cannot run code here. Unknown
# keys and invalid values are ignored (defaults apply) and reported through slot_read's status.

SLOT_NAMES="A B"
SLOT_MAX_TRIES=${SLOT_MAX_TRIES:-3}
SLOT_DEFAULT_ORDER="A B"

# slot_is_name NAME: true if NAME is one of SLOT_NAMES.
slot_is_name() {
    case " $SLOT_NAMES " in
        *" $1 "*) [ -n "$1" ] ;;
        *) return 1 ;;
    esac
}

# slot_left SLOT: print the tries left of SLOT.
slot_left() {
    slot_is_name "$1" || return 1
    eval "echo \"\${BOOT_$1_LEFT}\""
}

# slot_set_left SLOT N
slot_set_left() {
    slot_is_name "$1" || return 1
    eval "BOOT_$1_LEFT=\$2"
}

_slot_is_count() {
    case "$1" in
        '' | *[!0-9]*) return 1 ;;
    esac
    [ "${#1}" -le 4 ] && [ "$1" -le "$SLOT_MAX_TRIES" ]
}

# An order is valid when it is non-empty, names only known slots and none twice.
_slot_is_order() {
    _seen=" "
    for _s in $1; do
        slot_is_name "$_s" || return 1
        case "$_seen" in *" $_s "*) return 1 ;; esac
        _seen="$_seen$_s "
    done
    [ "$_seen" != " " ]
}

# slot_defaults: the factory state (every slot at its maximum, A first).
slot_defaults() {
    BOOT_ORDER=$SLOT_DEFAULT_ORDER
    for _s in $SLOT_NAMES; do
        slot_set_left "$_s" "$SLOT_MAX_TRIES"
    done
}

# slot_read FILE: load the state. Status 0 when FILE was complete and valid; 1 when it was
# missing, or some value was absent or invalid (the default was used for it); the loaded
# state is usable either way. If FILE is missing but FILE.new exists (a write cut short before
# its rename), FILE.new is read.
slot_read() {
    slot_defaults
    _file=$1
    if [ ! -f "$_file" ] && [ -f "$_file.new" ]; then
        _file=$_file.new
    fi
    [ -f "$_file" ] || return 1
    _ok=0
    _got_order=no
    for _s in $SLOT_NAMES; do eval "_got_$_s=no"; done
    while IFS= read -r _line || [ -n "$_line" ]; do
        _line=$(printf '%s' "$_line" | tr -d '\r')
        case "$_line" in
            '' | '#'*) continue ;;
            *=*) ;;
            *) _ok=1; continue ;;
        esac
        _key=${_line%%=*}
        _value=${_line#*=}
        # one level of double or single quotes around the value
        case "$_value" in
            \"*\") _value=${_value#\"}; _value=${_value%\"} ;;
            \'*\') _value=${_value#\'}; _value=${_value%\'} ;;
        esac
        case "$_key" in
            BOOT_ORDER)
                if _slot_is_order "$_value"; then
                    # normalise the spacing
                    BOOT_ORDER=$(echo $_value)
                    _got_order=yes
                else
                    _ok=1
                fi
                ;;
            BOOT_*_LEFT)
                _s=${_key#BOOT_}
                _s=${_s%_LEFT}
                if slot_is_name "$_s" && _slot_is_count "$_value"; then
                    # "03" is 3: leading zeros would read as octal in $((...))
                    while case "$_value" in 0?*) true ;; *) false ;; esac; do
                        _value=${_value#0}
                    done
                    slot_set_left "$_s" "$_value"
                    eval "_got_$_s=yes"
                else
                    _ok=1
                fi
                ;;
            *) _ok=1 ;;
        esac
    done <"$_file"
    [ "$_got_order" = yes ] || _ok=1
    for _s in $SLOT_NAMES; do
        eval "[ \"\$_got_$_s\" = yes ]" || _ok=1
    done
    return $_ok
}

# slot_format: print the state as the file holds it.
slot_format() {
    echo "# A/B boot state (RAUC semantics): see /usr/lib/coocenter/slot.sh"
    echo "BOOT_ORDER=\"$BOOT_ORDER\""
    for _s in $SLOT_NAMES; do
        echo "BOOT_${_s}_LEFT=$(slot_left "$_s")"
    done
}

# slot_write FILE: store the state. Written to FILE.new, flushed, then renamed over FILE, so a
# power cut leaves either the old or the new state (slot_read falls back to FILE.new).
slot_write() {
    slot_format >"$1.new" || return 1
    sync
    mv -f "$1.new" "$1" || return 1
    sync
}

# slot_choose: pick the slot to boot now and take one try from it; the slot is left in
# SLOT_CHOSEN (not printed: a $(...) subshell would lose the decrement). Status 0, or 2 when
# no slot had tries left: then every counter is reset and the first slot in BOOT_ORDER is
# taken (and charged one try like any other attempt).
slot_choose() {
    SLOT_CHOSEN=
    for _s in $BOOT_ORDER; do
        _left=$(slot_left "$_s")
        if [ "$_left" -gt 0 ]; then
            slot_set_left "$_s" $((_left - 1))
            SLOT_CHOSEN=$_s
            return 0
        fi
    done
    for _s in $SLOT_NAMES; do
        slot_set_left "$_s" "$SLOT_MAX_TRIES"
    done
    set -- $BOOT_ORDER
    slot_set_left "$1" $((SLOT_MAX_TRIES - 1))
    SLOT_CHOSEN=$1
    return 2
}

# slot_primary: the slot the next boot will choose (the first in BOOT_ORDER with tries left,
# else the first in BOOT_ORDER, as slot_choose would).
slot_primary() {
    for _s in $BOOT_ORDER; do
        if [ "$(slot_left "$_s")" -gt 0 ]; then
            echo "$_s"
            return 0
        fi
    done
    set -- $BOOT_ORDER
    echo "$1"
}

# slot_mark_good SLOT: the slot booted and is healthy: all its tries back.
slot_mark_good() {
    slot_set_left "$1" "$SLOT_MAX_TRIES"
}

# slot_mark_bad SLOT: never try SLOT again until it is marked good or made primary.
slot_mark_bad() {
    slot_set_left "$1" 0
}

# slot_state SLOT: print "good" if SLOT has tries left, else "bad" (RAUC get-state).
slot_state() {
    slot_is_name "$1" || return 1
    if [ "$(slot_left "$1")" -gt 0 ]; then echo good; else echo bad; fi
}

# slot_set_primary SLOT: boot SLOT first from now on (after an update was written to it),
# with all its tries; the other slots keep their order and counters behind it.
slot_set_primary() {
    slot_is_name "$1" || return 1
    _order=$1
    for _s in $BOOT_ORDER $SLOT_NAMES; do
        case " $_order " in *" $_s "*) ;; *) _order="$_order $_s" ;; esac
    done
    BOOT_ORDER=$_order
    slot_set_left "$1" "$SLOT_MAX_TRIES"
}
