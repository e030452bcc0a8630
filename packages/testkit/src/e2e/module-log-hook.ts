/**
 * Preloaded in a process under test (`node --import <this file>`, or in NODE_OPTIONS): appends to
 * the file named by ECS_INGRESS_TEST_MODULE_LOG the URL of each AWS SDK client package the process
 * resolves, once each, as it resolves it (`import`, `import()` and `require` alike: Node's
 * synchronous module hooks see them all). Lets a test see from outside which SDK clients a daemon
 * loaded. Plain erasable TypeScript, so Node runs it without tsx (the built CLI).
 */
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env.ECS_INGRESS_TEST_MODULE_LOG;
if (out) {
  const seen = new Set<string>();
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      const client = /\/node_modules\/(@aws-sdk\/client-[a-z0-9-]+)\//.exec(resolved.url)?.[1];
      if (client !== undefined && !seen.has(client)) {
        seen.add(client);
        appendFileSync(out, `${client}\n`);
      }
      return resolved;
    },
  });
}
