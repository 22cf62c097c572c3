/**
 * Structured logging: one JSON object per line on stderr. Never pass secrets (tokens, passwords,
 * cookies) as fields; `redact` exists for values that might carry one by accident.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: number = ORDER[(process.env.HIGHRATE_LOG_LEVEL as Level) ?? 'info'] ?? ORDER.info;
let component = process.env.HIGHRATE_COMPONENT ?? 'highrate';

/** Lines waiting for the end of this turn of the event loop (buffered mode only). */
let pending: string[] | null = null;
let buffered = false;

function flush(): void {
  if (pending === null) return;
  const text = pending.join('');
  pending = null;
  process.stderr.write(text);
}

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < threshold) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, component, msg, ...fields }) + '\n';
  if (!buffered || level === 'error') {
    flush();
    process.stderr.write(line);
    return;
  }
  if (pending === null) {
    pending = [];
    setImmediate(flush);
  }
  pending.push(line);
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
  setLevel(level: Level) { threshold = ORDER[level]; },
  /**
   * Buffered mode (the proxy): lines below error are written together once the current turn of
   * the event loop is over, so a reply already on its way never waits for a write to stderr
   * (a pipe write blocks while the reader is slow; measured: 15% of a route add at info).
   * Errors, and what is pending with them, are written at once; the rest is flushed at exit.
   */
  setBuffered(on: boolean) {
    if (!on) flush();
    else if (!buffered) process.on('exit', flush);
    buffered = on;
  },
  setComponent(name: string) { component = name; },
};

/**
 * Masks anything that looks like a credential in a URL: in the query string, and the token or cookie
 * JupyterHub's deprecated `/hub/api/authorizations/{token,cookie}/…` carry in the path.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/([?&](?:token|access_token|code|state|_xsrf)=)[^&]*/gi, '$1[redacted]')
    .replace(/(\/authorizations\/token\/)[^/?#]+/i, '$1[redacted]')
    .replace(/(\/authorizations\/cookie\/[^/?#]+\/)[^/?#]+/i, '$1[redacted]');
}
