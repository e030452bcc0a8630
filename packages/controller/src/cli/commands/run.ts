import type { Command } from 'commander';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('ecs-ingress run: not implemented yet\n');
      process.exitCode = 2;
    });
}
