import type { Command } from 'commander';

export function registerBootstrap(program: Command): void {
  program
    .command('bootstrap')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('ecs-ingress bootstrap: not implemented yet\n');
      process.exitCode = 2;
    });
}
