import type { Command } from 'commander';

export function registerRecord(program: Command): void {
  program
    .command('record')
    .description('(not implemented yet)')
    .action(() => {
      process.stderr.write('ecs-ingress record: not implemented yet\n');
      process.exitCode = 2;
    });
}
