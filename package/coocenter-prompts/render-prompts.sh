#!/bin/sh
# Renders pbxd/prompts/catalog.toml into $TARGET_DIR/usr/share/coocenter/prompts (8 kHz mono
# 16-bit WAV) with tools/prompts/generate.py. Runs on the host with TOPDIR, BUILD_DIR and
# TARGET_DIR set by the build driver.
set -eu
if ! command -v espeak-ng >/dev/null 2>&1; then
    echo "coocenter-prompts: espeak-ng is missing on the build host:" \
         "apt-get install -y espeak-ng" >&2
    exit 1
fi
python="$TOPDIR/.venv/bin/python"
[ -x "$python" ] || python=python3
cache="$BUILD_DIR/prompts"
dest="$TARGET_DIR/usr/share/coocenter/prompts"
cd "$TOPDIR"
"$python" -m tools.prompts.generate "$cache" --langs zh,en
rm -rf "$dest"
mkdir -p "$dest"
cp -R "$cache/." "$dest/"
find "$dest" -name ".*.tmp" -type f -delete  # left by a killed run
find "$dest" -type d -exec chmod 0755 {} +
find "$dest" -type f -exec chmod 0644 {} +
