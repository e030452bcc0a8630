#!/usr/bin/env node
import { runCli } from './program.js';

// A daemon keeps running after runCli resolves (the shutdown handler ends it): only set the code.
process.exitCode = await runCli(process.argv);
