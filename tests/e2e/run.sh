#!/usr/bin/env bash
# `make e2e`: installs the pinned runtimes (tests/e2e/package-lock.json)
# into the cache, once per lock, then runs the suite (e2e.py) in a network
# namespace that has nothing but loopback. Arguments pick modes by prefix
# (`tests/e2e/run.sh codex`), `--list` lists them.
set -euo pipefail
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cache=${HB_E2E_CACHE:-$root/target/e2e}
export HB_E2E_CACHE=$cache
export HB_BIN=${HB_BIN:-$root/target/debug}

for tool in node npm python3 tmux unshare ip; do
    command -v "$tool" >/dev/null || {
        printf 'e2e: %s is required\n' "$tool" >&2
        exit 3
    }
done

# npm ci only when the lock changed since the last install.
mkdir -p "$cache"
if ! cmp -s "$root/tests/e2e/package-lock.json" "$cache/.installed-lock.json"; then
    cp "$root/tests/e2e/package.json" "$root/tests/e2e/package-lock.json" "$cache/"
    rm -f "$cache/.installed-lock.json"
    (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$root/tests/e2e/package-lock.json" "$cache/.installed-lock.json"
fi

# Outside the namespace: the namespace has no route to anything else.
exec unshare --net -- python3 "$root/tests/e2e/e2e.py" "$@"
