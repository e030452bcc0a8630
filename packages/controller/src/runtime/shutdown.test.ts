import { silentLogger } from '@ecs-ingress/types';
import { describe, expect, it } from 'vitest';
import { installShutdownHandlers, runShutdownSteps } from './shutdown.js';

describe('runShutdownSteps', () => {
  it.each([
    { name: 'all steps finish', fail: false, hang: false, code: 0, ran: ['sources', 'runtime'] },
    {
      name: 'a step throws (the rest still run)',
      fail: true,
      hang: false,
      code: 1,
      ran: ['sources', 'runtime'],
    },
    { name: 'a step outlives the timeout', fail: false, hang: true, code: 1, ran: ['sources'] },
  ])('exit code when $name', async ({ fail, hang, code, ran }) => {
    const done: string[] = [];
    const steps = [
      {
        name: 'sources',
        run: async () => {
          done.push('sources');
          if (fail) throw new Error('boom');
          if (hang) await new Promise(() => undefined);
        },
      },
      { name: 'runtime', run: async () => void done.push('runtime') },
    ];
    expect(await runShutdownSteps(steps, silentLogger, 50)).toBe(code);
    expect(done).toEqual(ran);
  });
});

describe('installShutdownHandlers', () => {
  it('runs the steps once on a signal and exits with their code', async () => {
    const exits: number[] = [];
    let runs = 0;
    const handle = installShutdownHandlers({
      steps: [
        {
          name: 'runtime',
          run: async () => {
            runs += 1;
          },
        },
      ],
      signals: ['SIGUSR2'],
      exit: (code) => exits.push(code),
    });
    process.emit('SIGUSR2', 'SIGUSR2');
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(handle.isShuttingDown()).toBe(true);
    expect(await handle.shutdown('again')).toBe(0);
    expect({ runs, exits }).toEqual({ runs: 1, exits: [0] });
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });
});
