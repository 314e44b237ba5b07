#!/bin/sh
# Installs the headless browser the web-page test drives (Debian's chromium + chromedriver).
# Idempotent; never fails the build: without root (or apt) it prints one note and exits 0, and the
# browser test then skips with the reason.
set -u
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: chromium/chromedriver not installed and cannot install them (needs root and apt-get): the browser test will be skipped" >&2
    exit 0
fi
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
   && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; then
    echo "installed chromium and chromedriver for the browser test"
else
    echo "note: could not install chromium/chromedriver with apt-get: the browser test will be skipped" >&2
fi
exit 0
