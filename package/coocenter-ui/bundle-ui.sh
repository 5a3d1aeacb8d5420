#!/bin/sh
# Bundles ui/ into $TARGET_DIR/usr/share/coocenter/ui with tools/ui/build.py. Runs on the host
# with TOPDIR, BUILD_DIR and TARGET_DIR set by the build driver.
set -eu
python="$TOPDIR/.venv/bin/python"
[ -x "$python" ] || python=python3
out="$BUILD_DIR/ui"
dest="$TARGET_DIR/usr/share/coocenter/ui"
cd "$TOPDIR"
"$python" -m tools.ui.build --out "$out"
rm -rf "$dest"
mkdir -p "$dest"
cp -R "$out/." "$dest/"
find "$dest" -type d -exec chmod 0755 {} +
find "$dest" -type f -exec chmod 0644 {} +
