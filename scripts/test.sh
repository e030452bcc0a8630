#!/usr/bin/env bash
# The whole test suite: installs what it needs, then lint, type-check, build and every test
# (unit and integration, against real NGINX, fauxqs and the wire-level AWS test server), on Node.js 24.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/runtime.sh
echo "[test] Node.js $(node --version), pnpm $(pnpm --version)"
pnpm -s lint
pnpm -s typecheck
pnpm -s build >/dev/null
node scripts/run-tests.mjs
