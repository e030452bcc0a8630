import type { Command } from 'commander';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('(not implemented yet)')
    .argument('<file>')
    .action(() => {
      process.stderr.write('ecs-ingress replay: not implemented yet\n');
      process.exitCode = 2;
    });
}
