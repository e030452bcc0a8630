import type { Command } from 'commander';

export function registerTeardown(program: Command): void {
  program
    .command('teardown')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('ecs-ingress teardown: not implemented yet\n');
      process.exitCode = 2;
    });
}
