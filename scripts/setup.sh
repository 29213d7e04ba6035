#!/usr/bin/env bash
# Installs the Debian packages in scripts/packages.txt that are missing, and
# tries the optional ones in scripts/packages-optional.txt (a browser for the
# report's screenshot test) without failing when they cannot be had.
# Runs apt-get as root (through sudo when not root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

missing_from() {
  local p
  for p in $(grep -Ev '^\s*(#|$)' "$1"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

mapfile -t missing < <(missing_from "$here/packages.txt")
mapfile -t optional < <(missing_from "$here/packages-optional.txt")
if [ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
$sudo apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ${#optional[@]} -gt 0 ]; then
  echo "setup: installing optional ${optional[*]}"
  $sudo apt-get install -y -qq --no-install-recommends "${optional[@]}" ||
    echo "setup: optional packages not installed (their tests will say they are skipped)"
fi
