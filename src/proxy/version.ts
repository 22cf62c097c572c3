import { readFileSync } from 'node:fs';

/** The package's version (`--version`), read from package.json beside dist/ or src/ on demand. */
export function proxyVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}
