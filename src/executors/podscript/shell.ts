/**
 * POSIX shell text helpers. Everything user-controlled reaches the script either single-quoted
 * (no expansion of any kind, newlines kept) or base64-encoded in a quoted here-document.
 */

/** `s` as one single-quoted shell word: `it's` → `'it'\''s'`. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Words joined as a command line, each quoted. */
export function shWords(words: readonly string[]): string {
  return words.map(shQuote).join(' ');
}

/** A name `export NAME=...` accepts (POSIX: letters, digits, underscore, not starting with a digit). */
export function isShellName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** Text safe inside a `#` comment line. */
export function commentSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9._/:@-]/g, '_');
}

/**
 * Lines that decode base64 `data` into the file at the shell word `target`. The delimiter cannot
 * occur in base64 text (no `_` in its alphabet), and the quoted delimiter turns off expansion.
 */
export function base64File(target: string, data: Buffer): string[] {
  const b64 = data.toString('base64');
  const lines = [`base64 -d > ${target} <<'HR_B64' || exit 1`];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  lines.push('HR_B64');
  return lines;
}
