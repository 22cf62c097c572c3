import { ERRORS } from './catalogue.js';

/** Renders docs/errors.md from the catalogue (a test keeps the two equal). */
export function errorReference(): string {
  const rows = Object.entries(ERRORS).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.message} |`);
  return [
    '# Error codes',
    '',
    'Every API error is JSON `{"status": <http status>, "message": "<what happened and how to fix it>", "code": "<CODE>"}`.',
    '`status` and `message` are the fields JupyterHub clients read; `code` is stable and safe to match on.',
    'The message below is the default; most errors carry a more specific one.',
    '',
    '| code | HTTP status | default message |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
