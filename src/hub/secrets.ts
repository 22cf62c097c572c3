import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newSecret } from '../auth/tokens.js';

/**
 * Secrets the hub keeps in `<data>/secrets/` (mode 0700, files 0600): created once, then reused
 * so that a restarted hub and a still-running proxy keep trusting each other.
 */
export function loadSecret(dataDir: string, name: string): string {
  const dir = join(dataDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = join(dir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = newSecret();
  writeFileSync(file, value, { mode: 0o600, flag: 'wx' });
  return value;
}
