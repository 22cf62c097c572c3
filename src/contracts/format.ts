/**
 * How the portal (ui/src/format.ts re-exports this) and the CLI show sizes, cores, durations and
 * states: one module, so a worker's memory reads the same on every page and in every command.
 * Pure functions without imports, so both builds (Vite for the portal, tsc for the hub) take it.
 *
 * Memory is shown in binary units (KiB, MiB, GiB, TiB), as `kubectl` and JupyterHub users read
 * it; quantities are parsed as Kubernetes does, so "2G" (2·10⁹ bytes) shows as "1.9 GiB" and
 * "2Gi" as "2 GiB".
 */

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;
const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkKMGTPE])?$/;
const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL_SUFFIX: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const DASH = '—';

/** A Kubernetes quantity ("2G", "1536Mi", "24683756Ki", "1500m", 3) as a number of base units; null if it is not one. */
export function quantityValue(q: string | number | null | undefined): number | null {
  if (typeof q === 'number') return Number.isFinite(q) && q >= 0 ? q : null;
  if (typeof q !== 'string') return null;
  const m = QUANTITY.exec(q.trim());
  if (!m) return null;
  const suffix = m[2] ?? '';
  const factor = BINARY_SUFFIX[suffix] ?? DECIMAL_SUFFIX[suffix] ?? (/^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : NaN);
  const v = Number(m[1]) * factor;
  return Number.isFinite(v) ? v : null;
}

/** One decimal below 100, none from 100, never a trailing ".0": 1.9, 23.5, 954, 2. */
function short(v: number): string {
  return v >= 100 ? String(Math.round(v)) : String(Number(v.toFixed(1)));
}

/** Bytes in binary units: "512 B", "954 MiB", "1.9 GiB", "23.5 GiB", "2 TiB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return DASH;
  let v = bytes;
  let i = 0;
  // 1023.6 MiB would print as "1024 MiB": move up a unit once the rounded value reaches 1024.
  while (i < BINARY_UNITS.length - 1 && Number(short(v)) >= 1024) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : short(v)} ${BINARY_UNITS[i]}`;
}

/** A memory quantity or byte count as binary units ("2G" → "1.9 GiB", "24683756Ki" → "23.5 GiB"); unparseable text is shown as it is. */
export function formatMemory(q: string | number | null | undefined): string {
  if (q === null || q === undefined || q === '') return DASH;
  const bytes = quantityValue(q);
  return bytes === null ? String(q) : formatBytes(bytes);
}

/** Cores from a number or a cpu quantity: "1 core", "2 cores", "1.5 cores" ("1500m"). */
export function formatCores(q: string | number | null | undefined): string {
  const n = quantityValue(q ?? null);
  if (n === null) return q === null || q === undefined || q === '' ? DASH : String(q);
  const v = Math.round(n * 1000) / 1000;
  return `${v} ${v === 1 ? 'core' : 'cores'}`;
}

/** Whole seconds as the two largest units: "45 s", "3 min 5 s", "2 h 5 min", "3 d 4 h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return DASH;
  const s = Math.round(seconds);
  const parts: Array<[number, string]> = [[Math.floor(s / 86400), 'd'], [Math.floor(s / 3600) % 24, 'h'], [Math.floor(s / 60) % 60, 'min'], [s % 60, 's']];
  const first = parts.findIndex(([v]) => v > 0);
  if (first < 0) return '0 s';
  return parts.slice(first, first + 2).filter(([v], i) => i === 0 || v > 0).map(([v, u]) => `${v} ${u}`).join(' ');
}

/** A state in one capitalisation, whatever the API spells: "RUNNING", "running" → "Running". */
export function formatState(state: string | null | undefined): string {
  if (!state) return DASH;
  const s = state.toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}
