#!/usr/bin/env bash
# Headless Chromium for the leaderboard's browser test (tests/leaderboard/e2e), from Debian's packages.
# Idempotent: does nothing when /usr/bin/chromium exists. Playwright drives this binary
# (`playwright install` is not used: it downloads browser builds of its own). Failing to
# install is not fatal: the browser test then skips and names what is missing.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium.sh: no apt-get here; install Chromium as /usr/bin/chromium" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
if ! { $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; }; then
    echo "install_chromium.sh: could not install the Debian package chromium" >&2
fi
