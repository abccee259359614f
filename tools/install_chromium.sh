#!/bin/sh
# Debian's chromium, for the reconciliation report's browser test (tests/pipelines/test_reconcile_html.py).
# It changes the machine (sudo apt-get), so it runs only when asked: where CI=true (CI's entry point .ci/run
# sets it; there a missing browser fails the test) or KDE_INSTALL_CHROMIUM=1. Otherwise it says how to ask, and
# the browser test skips with that reason. Idempotent: does nothing when /usr/bin/chromium exists.
# `make test-setup` (and so `make test`) runs it; `make setup` and `make demo` never do.
set -eu
[ -x /usr/bin/chromium ] && exit 0
if [ "${CI:-}" != true ] && [ "${KDE_INSTALL_CHROMIUM:-}" != 1 ]; then
    echo "chromium: not installed, so the browser test of the reconciliation page skips;" \
        "KDE_INSTALL_CHROMIUM=1 make test-setup installs Debian's (sudo apt-get)"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "installing Debian's chromium (headless browser for the reconciliation report test) ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
