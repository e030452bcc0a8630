/**
 * Upstream names go verbatim into `upstream <name> {`, into the user's `proxy_pass http://<name>`
 * and, in dynamic mode, into a Lua string literal. So a name is accepted only if it is safe in all
 * three places.
 *
 * ECS service names allow letters, numbers, hyphens and underscores, at most 255 characters. We
 * also accept dots (harmless in NGINX host names and Lua strings) so hand-made names such as
 * `api.v2` keep working. The first character must be alphanumeric: a leading `-` or `.` reads badly
 * in `proxy_pass http://-x` and is never produced by ECS. Everything else — whitespace, `{`, `}`,
 * `;`, quotes, `$` (NGINX variables), `#` (comments), `\`, `/`, `:` (would be read as a port) —
 * is rejected.
 */
const SAFE_UPSTREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** True when `name` can be written into NGINX config and a Lua string literal without escaping. */
export function isSafeUpstreamName(name: string): boolean {
  return SAFE_UPSTREAM_NAME.test(name);
}

/** Why `name` is unsafe, for the log line. Only call for names that fail `isSafeUpstreamName`. */
export function unsafeNameReason(name: string): string {
  if (name.length === 0) return 'empty name';
  if (name.length > 255) return `name longer than 255 characters (${name.length})`;
  if (!/^[A-Za-z0-9]/.test(name)) return 'name must start with a letter or digit';
  return 'name contains characters other than letters, digits, "_", "-" and "."';
}

/**
 * Plain code-point order (not `localeCompare`, whose result depends on the ICU data and locale of
 * the machine): the same names sort the same everywhere, so the rendered bytes are reproducible.
 */
export function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
