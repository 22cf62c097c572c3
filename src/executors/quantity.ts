import { fail, type ErrorCode } from '../errors/catalogue.js';

/**
 * Kubernetes resource quantities (k8s.io/apimachinery `resource.Quantity`):
 *
 *   <quantity> ::= <sign>? <number> <suffix>?
 *   <number>   ::= digits | digits "." digits? | "." digits
 *   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei            (binary, powers of 1024)
 *                | n | u | m | k | M | G | T | P | E     (decimal SI)
 *                | (e | E) <sign>? digits                (decimal exponent)
 *
 * Arithmetic is exact (BigInt rationals) so "0.1G" is 100000000 bytes, not 100000000.00000001
 * rounded up. Like Kubernetes, cpu is kept at millicore precision and memory at whole bytes,
 * both rounded up ("0.0001" cpu is 1m).
 */

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n,
};
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const SYNTAX = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE])?$/;
/** Exponents beyond this are refused: 10^1e9 as a BigInt would hang the process. */
const MAX_EXPONENT = 40;
/** Quantities must fit a signed 64-bit integer of their base unit (what the API server stores). */
const MAX_INT64 = (1n << 63n) - 1n;

export interface QuantityContext {
  /** Catalogue code of the error: BAD_REQUEST for pods (default), INVALID_OPTIONS for user choices. */
  code?: Extract<ErrorCode, 'BAD_REQUEST' | 'INVALID_OPTIONS'>;
  /** What is being parsed, for the message, e.g. `container "app" limits.memory`. */
  field?: string;
}

/** An exact non-negative rational num/den. */
interface Rational { num: bigint; den: bigint }

function parseRational(raw: unknown, kind: 'cpu' | 'memory', ctx: QuantityContext): Rational {
  const where = ctx.field ?? kind;
  const bad = (why: string) => fail(ctx.code ?? 'BAD_REQUEST', `Invalid ${where} quantity ${JSON.stringify(raw)}: ${why}.`);
  let text: string;
  if (typeof raw === 'number' && Number.isFinite(raw)) text = String(raw);
  else if (typeof raw === 'string') text = raw.trim();
  else throw bad('expected a string like ' + (kind === 'cpu' ? '"2" or "500m"' : '"512Mi" or "4G"'));
  const m = SYNTAX.exec(text);
  if (!m) throw bad(kind === 'cpu' ? 'expected a number of cores like "2", "0.5" or "500m"' : 'expected a size like "512Mi", "4G", "4Gi" or "1073741824"');
  const [, sign, number, suffix = ''] = m as unknown as [string, string, string, string | undefined];
  if (sign === '-') throw bad('must not be negative');
  const [intPart, fracPart = ''] = number.split('.') as [string, string | undefined];
  let exp10 = -fracPart.length;
  let binary = 1n;
  if (suffix in BINARY) binary = BINARY[suffix]!;
  else if (suffix[0] === 'e' || suffix[0] === 'E') {
    const e = Number(suffix.slice(1));
    if (Math.abs(e) > MAX_EXPONENT) throw bad('exponent out of range');
    exp10 += e;
  } else exp10 += DECIMAL[suffix]!;
  let num = BigInt((intPart || '0') + fracPart) * binary;
  let den = 1n;
  if (exp10 >= 0) num *= 10n ** BigInt(exp10);
  else den = 10n ** BigInt(-exp10);
  if (num / den > MAX_INT64) throw bad('too large');
  return { num, den };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Cores from a cpu quantity ("1", "0.5", "500m", 2), at millicore precision rounded up. */
export function parseCpu(raw: unknown, ctx: QuantityContext = {}): number {
  const { num, den } = parseRational(raw, 'cpu', ctx);
  return Number(ceilDiv(num * 1000n, den)) / 1000;
}

/** Bytes from a memory quantity ("4G", "4Gi", "512Mi", "1e9", "1073741824"), rounded up to a whole byte. */
export function parseMemory(raw: unknown, ctx: QuantityContext = {}): number {
  const { num, den } = parseRational(raw, 'memory', ctx);
  const bytes = ceilDiv(num, den);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw fail(ctx.code ?? 'BAD_REQUEST', `Invalid ${ctx.field ?? 'memory'} quantity ${JSON.stringify(raw)}: too large.`);
  }
  return Number(bytes);
}

/** The canonical cpu quantity for a number of cores: "2", "1500m". */
export function formatCpu(cores: number): string {
  const milli = Math.ceil(cores * 1000 - 1e-9);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** The canonical memory quantity for bytes: the largest binary suffix that divides it exactly ("24Gi", "1536Mi", "1000"). */
export function formatMemory(bytes: number): string {
  const b = Math.ceil(bytes);
  for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const unit = Number(BINARY[suffix]);
    if (b >= unit && b % unit === 0) return `${b / unit}${suffix}`;
  }
  return String(b);
}
