#!/usr/bin/env bash
# Installs everything ecs-ingress needs on a fresh Debian machine with Node.js 20+ (run as root):
# pnpm 10, NGINX with the stream and Lua modules, Prometheus (promtool), wrk, and the workspace's
# dependencies from the lockfile. Idempotent: each step is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  log "Node.js 20 or newer is required (found $(node -v))"; exit 1
fi

if ! command -v pnpm >/dev/null 2>&1 || ! pnpm --version 2>/dev/null | grep -q '^10\.'; then
  log "installing pnpm 10"
  # corepack's signature check fails on some machines; npm is the dependable path.
  if ! (corepack enable >/dev/null 2>&1 && corepack prepare pnpm@10.34.9 --activate >/dev/null 2>&1 && pnpm --version >/dev/null 2>&1); then
    npm i -g pnpm@10.34.9 >/dev/null 2>&1
  fi
fi

# OS packages: NGINX + stream + Lua (dynamic mode), promtool, wrk (benchmarks), zip (bundle tests).
APT_PACKAGES=(nginx libnginx-mod-stream libnginx-mod-http-ndk libnginx-mod-http-lua lua-resty-core lua-resty-lrucache prometheus wrk zip unzip procps)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing OS packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # policy-rc.d keeps Debian from starting the system NGINX/Prometheus services on port 80/9090.
  if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log "installing workspace dependencies"
pnpm install --frozen-lockfile --reporter=silent
