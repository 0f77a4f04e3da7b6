// The one place secrets are masked before text is printed or stored (docs/attach.md, "Credentials").
// Imports nothing: the harness, the CLI's error printer and src/db all call `redact`.

const MASK = '***';
/** Shorter secrets are still masked inside URLs and `password=` pairs, but not as bare words. */
const MIN_BARE_SECRET = 4;

const known = new Set<string>();

/** A password bench holds in memory: masked wherever it appears in text given to `redact`. */
export function registerSecret(secret: string | undefined): void {
  if (secret) known.add(secret);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `text` with every password masked: the password of any URL (`scheme://user:password@host`), the
 * value of `password=...` and `"password": "..."` pairs, and every registered secret (also in its
 * URL-encoded form).
 */
export function redact(text: string): string {
  let out = text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):([^@\s]*)@/gi, `$1:${MASK}@`)
    .replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&,;)\]}"]+)/gi, `$1${MASK}`)
    .replace(/("password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, `$1"${MASK}"`);
  const secrets = [...known].filter((s) => s.length >= MIN_BARE_SECRET).sort((a, b) => b.length - a.length);
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      out = out.replace(new RegExp(escapeRegExp(form), 'g'), MASK);
    }
  }
  return out;
}
