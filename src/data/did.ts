import { fail } from '../errors/catalogue.js';

/** A DID as users write it, `scope:name`. */
export interface DidRef { scope: string; name: string }

// Rucio's generic schema: scope ≤ 25 chars [a-zA-Z_\-.0-9]; name ≤ 250 chars, starting with a letter, digit or "/".
const SCOPE = /^[a-zA-Z0-9_.-]{1,25}$/;
const NAME = /^[/A-Za-z0-9][/A-Za-z0-9.\-_]{0,249}$/;
const PATTERN = /^[/A-Za-z0-9.\-_*]{1,250}$/;

/** Parses `scope:name` (with `wildcard`, `*` may appear in the name); bad input is 400. */
export function parseDid(text: unknown, opts: { wildcard?: boolean } = {}): DidRef {
  if (typeof text !== 'string' || !text.includes(':')) throw fail('BAD_REQUEST', 'A data identifier is written scope:name, e.g. "data:dataset1".');
  const i = text.indexOf(':');
  const scope = text.slice(0, i);
  const name = text.slice(i + 1) || (opts.wildcard ? '*' : '');
  if (!SCOPE.test(scope)) throw fail('BAD_REQUEST', `Invalid Rucio scope "${scope.slice(0, 40)}": up to 25 letters, digits, "_", "-" or "." (no wildcards).`);
  if (!(opts.wildcard ? PATTERN : NAME).test(name)) throw fail('BAD_REQUEST', `Invalid Rucio name "${name.slice(0, 60)}".`);
  return { scope, name };
}

export const didString = (d: DidRef) => `${d.scope}:${d.name}`;
