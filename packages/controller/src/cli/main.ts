#!/usr/bin/env node
import { Command } from 'commander';
import { registerBootstrap } from './commands/bootstrap.js';
import { registerDemo } from './commands/demo.js';
import { registerRecord } from './commands/record.js';
import { registerReplay } from './commands/replay.js';
import { registerRun } from './commands/run.js';
import { registerTeardown } from './commands/teardown.js';

/** `ecs-ingress <command>`: every command lives in its own file under ./commands. */
export function buildProgram(): Command {
  const program = new Command('ecs-ingress')
    .description('Ingress controller for Amazon ECS: keeps NGINX upstreams equal to the running tasks.')
    .showHelpAfterError()
    .enablePositionalOptions();
  registerRun(program);
  registerReplay(program);
  registerRecord(program);
  registerDemo(program);
  registerBootstrap(program);
  registerTeardown(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
