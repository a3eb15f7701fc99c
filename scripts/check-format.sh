#!/bin/sh
# Fails if clang-format (14, .clang-format) would change any tracked C source.
set -eu
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*'); do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "format: $f needs clang-format" >&2
        bad=1
    fi
done
[ $bad -eq 0 ] && echo "format: ok"
exit $bad
