#!/usr/bin/env bash
# `make e2e`: installs the pinned runtimes (tests/e2e/package-lock.json,
# tests/e2e/pypi/*.txt) into the cache, once per lock, then runs the suite (e2e.py) in a network
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

# The interpreter a `# python: PROG` line names: PROG where it runs, else
# pyenv's build of that version (the machine's image has 3.10 to 3.13
# under ~/.pyenv; pyenv's shim runs only the selected one).
python_for() {
    local prog=$1 p
    if "$prog" -c '' 2>/dev/null; then
        printf '%s\n' "$prog"
        return
    fi
    for p in "${PYENV_ROOT:-$HOME/.pyenv}/versions/${prog#python}".*/bin/"$prog"; do
        if [[ -x $p ]]; then
            printf '%s\n' "$p"
            return
        fi
    done
    printf 'e2e: %s is required (for %s)\n' "$prog" "$2" >&2
    exit 3
}

# PyPI runtimes: one venv per pinned requirements file (pypi/NAME.txt, every
# package `==` with its hashes), in the cache's venv/NAME, made anew only when
# that file changed. A `# python: PROG` line names the interpreter (default
# python3).
for req in "$root"/tests/e2e/pypi/*.txt; do
    [[ -e $req ]] || continue
    venv=$cache/venv/$(basename -- "$req" .txt)
    if ! cmp -s "$req" "$venv/.installed-requirements.txt"; then
        py=$(sed -n 's/^# python: *//p' "$req" | head -n 1)
        py=$(python_for "${py:-python3}" "$req")
        rm -rf -- "$venv"
        "$py" -m venv -- "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
            --require-hashes -r "$req"
        cp -- "$req" "$venv/.installed-requirements.txt"
    fi
done

# Outside the namespace: the namespace has no route to anything else.
exec unshare --net -- python3 "$root/tests/e2e/e2e.py" "$@"
