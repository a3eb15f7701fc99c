#!/bin/sh
# build.sh DIR [meson options...]: configure (or reconfigure) and build one build directory.
set -eu
cd "$(dirname "$0")/.."
dir=$1
shift
if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
else
    meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir"
