#!/usr/bin/env bash
# Installs axe-core (the accessibility checker the browser tests inject into each page) into
# .cache/npm, outside the source tree's packages. Safe to run twice: npm skips what is present.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -f .cache/npm/node_modules/axe-core/axe.min.js ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install_axe.sh: npm not found; install it with 'apt-get install npm'" >&2
  exit 1
fi
mkdir -p .cache/npm
npm install --prefix .cache/npm --no-audit --no-fund --silent axe-core@4
