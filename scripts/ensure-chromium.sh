#!/usr/bin/env bash
# Installs Debian's chromium when /usr/bin/chromium is missing: the wallboard's browser test drives it through
# playwright-core (no browser download from Playwright's CDN). Idempotent; needs root or sudo to install.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi

echo "ensure-chromium: /usr/bin/chromium missing, installing Debian's chromium"
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
