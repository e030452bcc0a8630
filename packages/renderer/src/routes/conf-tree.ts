/**
 * The route files are built as a tree of directives, audited, and only then written as text. The
 * audit is the last line of defence behind the label grammars: every argument must be made of a
 * safe character set, or be one of the few fixed tokens this renderer itself writes (NGINX
 * variables for WebSocket upgrades, forwarding headers, the https redirect and canary splits). A
 * value that slipped past a grammar (or a table built by hand) throws instead of being written.
 */
import { EcsIngressError } from '@ecs-ingress/types';

export interface Directive {
  readonly name: string;
  readonly args: readonly string[];
  /** Present for block directives (`server { … }`). */
  readonly block?: readonly Directive[];
}

/** An argument that is not safe to write into NGINX configuration. Thrown, never written. */
export class RouteRenderUnsafeError extends EcsIngressError {
  readonly directive: string;
  readonly argument: string;

  constructor(directive: string, argument: string) {
    super(
      'ECS_INGRESS_ROUTE_RENDER_UNSAFE',
      `refusing to render ${directive} with the argument ${JSON.stringify(argument)}`,
    );
    this.directive = directive;
    this.argument = argument;
  }
}

export const directive = (name: string, ...args: readonly (string | number)[]): Directive => ({
  name,
  args: args.map(String),
});

export const block = (
  name: string,
  args: readonly (string | number)[],
  body: readonly Directive[],
): Directive => ({
  name,
  args: args.map(String),
  block: body,
});

/**
 * Letters, digits and `. _ ~ / : * -`: enough for hosts (`*.example.com`), paths, CIDRs
 * (`2001:db8::/32`), sizes, durations, upstream names and `http://name/path`. No whitespace, quote,
 * `;`, `{`, `}`, `$`, `#`, `\`, `%` or anything outside ASCII.
 */
const SAFE_ARGUMENT = /^[A-Za-z0-9._~/:*-]{1,512}$/;
const DIRECTIVE_NAME = /^[a-z][a-z0-9_]*$/;
/** Tokens the renderer writes itself; never built from a label. */
const FIXED_TOKENS = new Set([
  '$http_upgrade',
  '$ecs_ingress_connection_upgrade',
  '$host',
  '$remote_addr',
  '$proxy_add_x_forwarded_for',
  '$scheme',
  '$request_id',
  'https://$host$request_uri',
  '""',
  // `location = /path`: the exact-match modifier.
  '=',
]);
/** `split_clients` variables (`$ecs_ingress_canary_3`, `http://$ecs_ingress_canary_3`) and shares (`10%`). */
const GENERATED_TOKEN = /^(?:(?:http:\/\/)?\$ecs_ingress_canary_[0-9]{1,6}|[1-9][0-9]?%)$/;

export function isSafeArgument(argument: string): boolean {
  return SAFE_ARGUMENT.test(argument) || FIXED_TOKENS.has(argument) || GENERATED_TOKEN.test(argument);
}

/** Throws `RouteRenderUnsafeError` on the first directive name or argument outside the safe set. */
export function auditDirectives(directives: readonly Directive[], parent?: string): void {
  // Inside `map` and `split_clients` the first word of a line is a value (`""`, `10%`, `*`).
  const valueLines = parent === 'map' || parent === 'split_clients';
  for (const item of directives) {
    if (!(valueLines ? isSafeArgument(item.name) : DIRECTIVE_NAME.test(item.name))) {
      throw new RouteRenderUnsafeError(parent ?? item.name, item.name);
    }
    for (const argument of item.args) {
      if (!isSafeArgument(argument)) throw new RouteRenderUnsafeError(item.name, argument);
    }
    if (item.block !== undefined) auditDirectives(item.block, item.name);
  }
}

/** Two spaces per level; a blank line between top-level blocks. */
export function writeDirectives(directives: readonly Directive[], depth = 0): string {
  const pad = '  '.repeat(depth);
  const parts: string[] = [];
  for (const item of directives) {
    const head = item.args.length > 0 ? `${item.name} ${item.args.join(' ')}` : item.name;
    if (item.block === undefined) parts.push(`${pad}${head};\n`);
    else
      parts.push(
        `${pad}${head} {\n${writeDirectives(item.block, depth + 1)}${pad}}\n${depth === 0 ? '\n' : ''}`,
      );
  }
  return parts.join('');
}
