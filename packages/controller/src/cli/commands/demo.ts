import type { Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('ecs-ingress demo: not implemented yet\n');
      process.exitCode = 2;
    });
}
