import type { IncomingMessage } from 'node:http';
import { log } from '../../log.js';
import type { AuditRow, NewAuditRow, Store } from '../../store/types.js';
import type { Identity } from '../../auth/identity.js';

/** Who did it, as the audit log names them. */
export interface AuditActor {
  name: string;
  kind: AuditRow['actorKind'];
}

/** One thing to record. `actor` defaults to anonymous; `outcome` to ok. */
export interface AuditEvent {
  action: string;
  actor?: Identity | AuditActor | null;
  target?: string | null;
  targetUser?: string | null;
  outcome?: AuditRow['outcome'];
  code?: string | null;
  detail?: Record<string, unknown>;
  ip?: string | null;
}

export const ANONYMOUS: AuditActor = { name: '-', kind: 'anonymous' };
export const SYSTEM: AuditActor = { name: 'hub', kind: 'system' };

interface Window { start: number; count: number; suppressed: number }

/**
 * The audit log: logins, token issues, starts, stops, scales, admin actions and denied requests.
 * Each entry goes to the store (queryable at /hub/api/audit) and out as one structured log line
 * (`"msg":"audit"`). Recording never fails the request it describes: a store error is logged.
 *
 * Denied requests are what an attacker can produce at will, so at most `deniedPerMinute` of them
 * are stored per actor (or address, when anonymous) per minute; the rest are counted and written
 * as one `request.denied.suppressed` entry when the minute is over.
 */
export class AuditLog {
  #windows = new Map<string, Window>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: Store, private readonly opts: { deniedPerMinute: number; now?: () => Date }) {}

  async record(e: AuditEvent): Promise<void> {
    const actor = actorOf(e.actor);
    const row: NewAuditRow = {
      time: (this.opts.now?.() ?? new Date()).toISOString(),
      actor: actor.name,
      actorKind: actor.kind,
      action: e.action,
      target: e.target ?? null,
      targetUser: e.targetUser ?? null,
      outcome: e.outcome ?? 'ok',
      code: e.code ?? null,
      detail: e.detail ?? {},
      ip: e.ip ?? null,
    };
    log.info('audit', { ...row, time: undefined, auditTime: row.time });
    try {
      await this.store.appendAudit(row);
    } catch (err) {
      log.error('audit: could not store an entry', { action: row.action, actor: row.actor, error: String(err) });
    }
  }

  /** Records a refusal, within the per-actor budget (see the class comment). */
  async denied(e: AuditEvent): Promise<void> {
    const actor = actorOf(e.actor);
    const key = actor.kind === 'anonymous' ? `ip:${e.ip ?? ''}` : `${actor.kind}:${actor.name}`;
    const now = (this.opts.now?.() ?? new Date()).getTime();
    let w = this.#windows.get(key);
    if (!w || now - w.start >= 60_000) {
      if (w && w.suppressed > 0) await this.#flush(key, w);
      w = { start: now, count: 0, suppressed: 0 };
      this.#windows.set(key, w);
    }
    if (w.count >= this.opts.deniedPerMinute) {
      w.suppressed++;
      return;
    }
    w.count++;
    await this.record({ ...e, outcome: e.outcome ?? 'denied' });
  }

  /** Deletes entries older than `days` now and then every hour; writes pending suppression counts each minute. */
  startMaintenance(days: number): void {
    const purge = () => void this.store.deleteAuditBefore(new Date(Date.now() - days * 86_400_000).toISOString())
      .catch((err: unknown) => log.warn('audit: purge failed', { error: String(err) }));
    purge();
    let minutes = 0;
    this.#timer = setInterval(() => {
      void this.flushExpired();
      if (++minutes % 60 === 0) purge();
    }, 60_000);
    this.#timer.unref();
  }

  /** Writes the summaries of finished minutes. */
  async flushExpired(now = Date.now()): Promise<void> {
    for (const [key, w] of this.#windows) {
      if (now - w.start < 60_000) continue;
      this.#windows.delete(key);
      if (w.suppressed > 0) await this.#flush(key, w);
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  async #flush(key: string, w: Window): Promise<void> {
    const [kind, ...rest] = key.split(':');
    const name = rest.join(':');
    const actor: AuditActor = kind === 'ip' ? ANONYMOUS : { name, kind: kind as AuditActor['kind'] };
    await this.record({ action: 'request.denied.suppressed', actor, outcome: 'denied', ip: kind === 'ip' ? name : null, detail: { count: w.suppressed, since: new Date(w.start).toISOString() } });
  }
}

function actorOf(a: AuditEvent['actor']): AuditActor {
  if (!a) return ANONYMOUS;
  if ('kind' in a && 'name' in a && !('ownerScopes' in a)) return a as AuditActor;
  const who = a as Identity;
  return { name: who.name, kind: who.kind === 'service' ? 'service' : 'user' };
}

/** The client's address: the last X-Forwarded-For hop (added by highrate's proxy), else the socket's. */
export function clientIp(req: IncomingMessage): string | null {
  const xff = req.headers['x-forwarded-for'];
  const value = Array.isArray(xff) ? xff.join(',') : xff;
  if (value) {
    const last = value.split(',').pop()!.trim();
    if (last) return last.slice(0, 64);
  }
  return req.socket.remoteAddress ?? null;
}
