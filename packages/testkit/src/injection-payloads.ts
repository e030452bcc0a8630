/**
 * Strings that try to break out of an NGINX directive argument, for the route injection suites:
 * single metacharacters, control and separator characters, and payloads in the shape of the
 * published ingress-nginx annotation CVEs (the annotation text went verbatim into nginx.conf).
 */
export const INJECTION_PAYLOADS: readonly (readonly [string, string])[] = [
  ['semicolon', 'a;'],
  ['closing brace', 'a}'],
  ['opening brace', '{a'],
  ['dollar (variable)', '$host'],
  ['hash (comment)', 'a#b'],
  ['double quote', 'a"b'],
  ['single quote', "a'b"],
  ['backslash', 'a\\b'],
  ['backtick', 'a`id`'],
  ['space', 'a b;'],
  ['tab', 'a\tb'],
  ['newline', 'a\nb'],
  ['carriage return', 'a\rb'],
  ['NUL', 'a\u0000b'],
  ['U+2028 line separator', 'a\u2028b'],
  ['U+2029 paragraph separator', 'a\u2029b'],
  ['U+0085 next line', 'a\u0085b'],
  ['fullwidth semicolon', 'a\uff1bb'],
  ['percent escape', 'a%3bb'],
  ['directive after a semicolon', 'x; include /etc/passwd'],
  // CVE-2021-25742: configuration-snippet reading the service account token through Lua.
  [
    'CVE-2021-25742 snippet',
    'x;\n}\nlocation /leak { content_by_lua_block { ngx.say(io.open("/var/run/secrets/kubernetes.io/serviceaccount/token"):read("*a")) } }\n#',
  ],
  // CVE-2021-25746: an annotation value carrying a directive with a $variable.
  ['CVE-2021-25746 variable', 'x; set $dummy "$http_x_secret"; #'],
  // CVE-2022-4886: Ingress path that escapes into an alias.
  ['CVE-2022-4886 path', '/x { alias /var/run/secrets/kubernetes.io/serviceaccount/; } location /y'],
  // CVE-2023-5043 / CVE-2023-5044: permanent-redirect annotation closing the directive.
  [
    'CVE-2023-5043 redirect',
    'https://example.com;\n}\nlocation ~* ^/pwn { content_by_lua_block { os.execute("id") } }\n#',
  ],
  ['CVE-2023-5044 redirect', 'https://x.example; more_set_headers "X: $request_uri";'],
  // CVE-2025-1974 (IngressNightmare) with CVE-2025-24514 auth-url: ssl_engine loads a shared object.
  ['CVE-2025-1974 auth-url', 'http://example.com/#;\n}}}\nssl_engine /proc/1/fd/42;\n#'],
  // CVE-2025-1097 auth-tls-match-cn and CVE-2025-1098 mirror UID: the same breakout in other annotations.
  ['CVE-2025-1097 match-cn', 'CN=x$|x){\n}}}}\nssl_engine ../../../../../../proc/1/fd/42;\n#('],
  ['CVE-2025-1098 mirror', 'a}}}\nssl_engine /tmp/x.so;\n#'],
  ['server_name regex', '~^(?<x>.+)\\.example\\.com$'],
  ['lua block', 'content_by_lua_block{os.execute("id")}'],
];
