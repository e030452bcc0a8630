#!/usr/bin/env bash
# The demo: local backends on loopback, a real NGINX, a recorded scenario replayed in real time (Node.js 24).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/runtime.sh
exec pnpm -s ecs-ingress demo "$@"
