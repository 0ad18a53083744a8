#!/usr/bin/env bash
# Installs the Debian packages geo_grid needs (PostgreSQL 15 + PostGIS 3, chromium for browser tests,
# a CJK font so that chromium draws the maps' Chinese text, nodejs/npm when npm is missing: the maps'
# JS/CSS is installed from the npm registry into maps/node_modules).
# Idempotent: does nothing when everything is already there.
set -euo pipefail
pkgs=(postgresql-15 postgresql-15-postgis-3 chromium chromium-driver wrk fonts-wqy-microhei)
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
