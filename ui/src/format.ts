import type { ServerModel } from './api/types.js';
import { formatCores, formatMemory } from '../../src/contracts/format.js';

// Sizes, cores, durations and states: one module with the CLI (src/contracts/format.ts).
export { formatBytes, formatCores, formatDuration, formatMemory, formatState } from '../../src/contracts/format.js';

/** The four states a user sees, from JupyterHub's `ready` and `pending`. */
export type ServerState = 'Stopped' | 'Starting' | 'Running' | 'Stopping';

export function serverState(server: Pick<ServerModel, 'ready' | 'pending'>): ServerState {
  if (server.pending === 'spawn') return 'Starting';
  if (server.pending === 'stop') return 'Stopping';
  return server.ready ? 'Running' : 'Stopped';
}

/** True while the server runs or is in a transition, i.e. not stopped. */
export function isActive(server: Pick<ServerModel, 'ready' | 'pending'> | undefined): boolean {
  return server !== undefined && (server.ready || server.pending !== null);
}

/** The label of a server in tables: "default" for "". */
export function serverLabel(name: string): string {
  return name === '' ? 'default' : name;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 60 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "3 minutes ago", "in 2 days", "just now". */
export function formatRelative(date: Date, now: number = Date.now()): string {
  const seconds = Math.round((date.getTime() - now) / 1000);
  const size = Math.abs(seconds);
  if (size < 45) return seconds <= 0 ? 'just now' : 'in a few seconds';
  for (const [unit, length] of UNITS) {
    // Months only from two on: a 30-day token then reads "in 30 days", not "next month".
    if (size >= length) return relative.format(Math.round(seconds / (unit === 'month' ? 30 * 24 * 3600 : length)), unit);
  }
  return relative.format(Math.round(seconds / 60), 'minute');
}

export function formatAbsolute(date: Date): string {
  return absolute.format(date);
}

/** "default · 2 cores · 3.7 GiB · image" from a server's user_options. */
export function formatOptions(options: Record<string, unknown> | null | undefined): string {
  if (!options) return '';
  const parts: string[] = [];
  if (typeof options.profile === 'string' && options.profile !== '') parts.push(options.profile);
  if (typeof options.cores === 'number' || typeof options.cores === 'string') {
    parts.push(formatCores(options.cores));
  }
  if (typeof options.memory === 'string' && options.memory !== '') parts.push(formatMemory(options.memory));
  if (typeof options.image === 'string' && options.image !== '') parts.push(options.image);
  return parts.join(' · ');
}

/** Named servers follow the hub's rule; checked here only to answer quickly. */
export const SERVER_NAME_PATTERN = /^[a-z0-9-]{1,30}$/;
