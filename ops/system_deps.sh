#!/usr/bin/env bash
# What `make test` needs from the system besides Python: Node.js/npm (tus-js-client is driven
# as a stock client), Debian's Chromium (browser tests) and a CJK font for Chromium only (it
# renders the Chinese pages the browser tests look at; what the server draws uses the font in
# media/fonts/, never the host's). ffmpeg is NOT needed: without a system ffmpeg the
# project uses the static one of the imageio-ffmpeg wheel (media/tools.py).
#
# As root on Debian the missing packages are installed; anywhere else the script stops at
# once with the single command to run. Usage: ops/system_deps.sh [test|run]
set -euo pipefail
what="${1:-test}"

missing=()
if [ "$what" = test ]; then
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  command -v chromium >/dev/null || missing+=(chromium)
  [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing+=(fonts-wqy-zenhei)
  # PostgreSQL point-in-time recovery (ops/pg_pitr.py, tests/retention/test_pg_pitr.py).
  [ -x /usr/bin/barman-cloud-wal-archive ] || missing+=(barman-cli-cloud)
  # The TLS-terminating reverse proxy (ops/proxy.py, tests/operations/test_tls.py).
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

line="apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing system packages for 'make $what': ${missing[*]}. Install them with:" >&2
  echo "    sudo $line" >&2
  exit 1
fi
echo "Installing system packages for 'make $what': ${missing[*]}"
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
# A package list older than a day (or none, as on a fresh machine) is refreshed first.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "Installed ${missing[*]} in $(( $(date +%s) - start )) s"
