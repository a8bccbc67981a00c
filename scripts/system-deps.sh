#!/usr/bin/env bash
# Installs the Debian packages a step needs, only when missing (apt-get update runs at most once).
#   system-deps.sh install  - what `make install` needs (a Python able to make a venv)
#   system-deps.sh test     - what the tests need on top (the msi group included)
#   system-deps.sh msi      - what `make msi` needs, and nothing else
#   system-deps.sh node     - Node.js and npm (the extension's linter and unit tests)
set -euo pipefail

msi=(
  msitools wixl          # make msi (wixl, msibuild) and the MSI table checks (msiinfo)
  osslsigncode           # make msi checks the Authenticode signatures of the Windows Python
  wine                   # bytecode compiled by the Windows Python; the install/upgrade/uninstall test
)
need=()
case "${1:-install}" in
  install)
    python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
    ;;
  msi)
    need+=("${msi[@]}")
    ;;
  node)
    # Node 20 or later (node --test, ESLint 9); a Node installed outside Debian's packages counts.
    command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
    ;;
  test)
    need+=(
      thunderbird            # the real Thunderbird of the pre-send end-to-end test
      thunderbird-l10n-zh-cn # ... also run in Simplified Chinese
      postgresql             # the collector's tests run on SQLite and on a real PostgreSQL server
      chromium               # the dashboard tests (Playwright drives Debian's chromium)
      fonts-wqy-microhei     # Chinese glyphs in Qt and Chromium screenshots
      "${msi[@]}"
    )
    ;;
  *) echo "usage: $0 install|test|msi|node" >&2; exit 2 ;;
esac

# Packages listed as Debian names are checked with dpkg.
missing=()
for pkg in "${need[@]:-}"; do
  [ -z "$pkg" ] && continue
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "Installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
