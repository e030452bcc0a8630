/**
 * The route files are built as a tree of directives, audited, and only then written as text. The
 * audit is the last line of defence behind the label grammars: every argument must be made of a
 * safe character set, or be one of the few fixed tokens this renderer itself writes (NGINX
 * variables for WebSocket upgrades, forwarding headers, the https redirect and canary splits). A
 * value that slipped past a grammar (or a table built by hand) throws instead of being written.
 */
import { EcsIngressError } from '@ecs-ingress/types';

/**
 * A token the renderer writes itself (an NGINX variable, `=`, `""`). Values from the route table
 * are plain strings and never pass as one of these, so `$host` as a host name is refused even
 * though `$host` is a fixed token elsewhere.
 */
export interface FixedToken {
  readonly fixed: string;
}

export const fixed = (token: string): FixedToken => ({ fixed: token });

export type Argument = string | FixedToken;

export interface Directive {
  readonly name: string;
  readonly args: readonly Argument[];
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

const toArgument = (arg: string | number | FixedToken): Argument =>
  typeof arg === 'number' ? String(arg) : arg;

export const directive = (name: string, ...args: readonly (string | number | FixedToken)[]): Directive => ({
  name,
  args: args.map(toArgument),
});

export const block = (
  name: string,
  args: readonly (string | number | FixedToken)[],
  body: readonly Directive[],
): Directive => ({ name, args: args.map(toArgument), block: body });

/**
 * Letters, digits and `. _ ~ / : * -`: enough for hosts (`*.example.com`), paths, CIDRs
 * (`2001:db8::/32`), sizes, durations, upstream names and `http://name/path`. No whitespace, quote,
 * `;`, `{`, `}`, `$`, `#`, `\`, `%` or anything outside ASCII.
 */
const SAFE_ARGUMENT = /^[A-Za-z0-9._~/:*-]{1,512}$/;
const DIRECTIVE_NAME = /^[a-z][a-z0-9_]*$/;
/** The fixed tokens the renderer may write; never built from a label. */
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
/** `split_clients` variables (`$ecs_ingress_canary_0123456789ab_0`, with `http://` in proxy_pass). */
const CANARY_VARIABLE = /^(?:http:\/\/)?\$ecs_ingress_canary_[0-9a-f]{12}_[0-9]{1,4}$/;
/** First words of `map` / `split_clients` lines: `default`, `""`, `*`, a share such as `10%`. */
const VALUE_LINE = /^(?:default|""|\*|[1-9][0-9]?%)$/;

/** A plain argument (anything built from route values) in the safe character set. */
export function isSafeArgument(argument: string): boolean {
  return SAFE_ARGUMENT.test(argument);
}

function isKnownFixed(token: FixedToken): boolean {
  return FIXED_TOKENS.has(token.fixed) || CANARY_VARIABLE.test(token.fixed);
}

const show = (argument: Argument): string => (typeof argument === 'string' ? argument : argument.fixed);

/** Throws `RouteRenderUnsafeError` on the first directive name or argument outside the safe set. */
export function auditDirectives(directives: readonly Directive[], parent?: string): void {
  // Inside `map` and `split_clients` the first word of a line is a value (`""`, `10%`, `*`).
  const valueLines = parent === 'map' || parent === 'split_clients';
  for (const item of directives) {
    if (!(valueLines ? VALUE_LINE.test(item.name) : DIRECTIVE_NAME.test(item.name))) {
      throw new RouteRenderUnsafeError(parent ?? item.name, item.name);
    }
    for (const argument of item.args) {
      const safe = typeof argument === 'string' ? isSafeArgument(argument) : isKnownFixed(argument);
      if (!safe) throw new RouteRenderUnsafeError(item.name, show(argument));
    }
    if (item.block !== undefined) auditDirectives(item.block, item.name);
  }
}

/** Two spaces per level; a blank line between top-level blocks. */
export function writeDirectives(directives: readonly Directive[], depth = 0): string {
  const pad = '  '.repeat(depth);
  const parts: string[] = [];
  for (const item of directives) {
    const head = item.args.length > 0 ? `${item.name} ${item.args.map(show).join(' ')}` : item.name;
    if (item.block === undefined) parts.push(`${pad}${head};\n`);
    else
      parts.push(
        `${pad}${head} {\n${writeDirectives(item.block, depth + 1)}${pad}}\n${depth === 0 ? '\n' : ''}`,
      );
  }
  return parts.join('');
}
