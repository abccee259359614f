#!/bin/sh
# Debian's chromium, for the reconciliation report's browser test (tests/pipelines/test_reconcile_html.py).
# Idempotent: does nothing when /usr/bin/chromium exists; needs root (or sudo) and the machine's apt sources.
set -eu
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "installing Debian's chromium (headless browser for the reconciliation report test) ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
