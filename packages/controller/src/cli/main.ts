#!/usr/bin/env node
import { runCli } from './program.js';
import { userCwd } from './user-cwd.js';

// `pnpm ecs-ingress` runs in the workspace root: relative paths are the user's (see user-cwd.ts).
process.chdir(userCwd(process.env, process.cwd()));

// A daemon keeps running after runCli resolves (the shutdown handler ends it): only set the code.
process.exitCode = await runCli(process.argv);
