#!/usr/bin/env node
// Checked before anything else loads: the dependencies need Node.js 22 or newer (execa 10 calls
// Set.prototype.union while loading), and an older Node would fail with a bare TypeError.
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 22) {
  process.stderr.write(
    `ecs-ingress: Node.js 22 or newer is required, this is ${process.version} (the image runs Node.js 24).\n` +
      "  In the repository: run 'bash scripts/setup.sh', then 'pnpm ecs-ingress <command>' (it runs on the workspace's Node.js 24).\n",
  );
  process.exit(1);
}

const { runCli } = await import('./program.js');
const { userCwd } = await import('./user-cwd.js');

// `pnpm ecs-ingress` runs in the workspace root: relative paths are the user's (see user-cwd.ts).
process.chdir(userCwd(process.env, process.cwd()));

// A daemon keeps running after runCli resolves (the shutdown handler ends it): only set the code.
process.exitCode = await runCli(process.argv);
