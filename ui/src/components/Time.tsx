import { formatAbsolute, formatRelative } from '../format.js';

interface TimeProps {
  value: string | null;
  /** Shown when there is no time, e.g. "Never". */
  empty?: string;
}

/** An ISO timestamp shown relative to now ("5 minutes ago"), the exact time as tooltip. */
export function Time({ value, empty = '—' }: TimeProps) {
  if (value === null || value === '') return <span className="muted">{empty}</span>;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return <span>{value}</span>;
  return (
    <time dateTime={date.toISOString()} title={formatAbsolute(date)}>
      {formatRelative(date)}
    </time>
  );
}
