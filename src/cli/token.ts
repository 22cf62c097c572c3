import { parseArgs } from 'node:util';
import { validateScopes } from '../auth/scopes.js';
import { hashSecret, newSecret, newTokenId } from '../auth/tokens.js';
import { fail } from '../errors/catalogue.js';
import { checkUsername } from '../hub/names.js';
import { createStore } from '../store/index.js';
import { DEPLOYMENT_FLAGS, resolveConfig, usage } from './common.js';

const HELP = `
Usage: highrate token issue USER [options]

Issues an API token for an existing user and prints it as the last line (like \`jupyterhub token\`).
Use it as "Authorization: token <token>" with the JupyterHub REST API at /hub/api/.

Options:
  --note TEXT        what the token is for
  --scopes A,B       limit the token to these scopes (default: all of the user's permissions)
  --expires-in SEC   lifetime in seconds (default: never expires)
  --data-dir DIR     state directory (default ./highrate-data)
  --config FILE      YAML config (for a PostgreSQL store)
  -h, --help         this help
`;

export async function token(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...DEPLOYMENT_FLAGS, note: { type: 'string' }, scopes: { type: 'string' }, 'expires-in': { type: 'string' } } });
  if (values.help || positionals[0] !== 'issue' || positionals.length !== 2) {
    usage(HELP);
    return values.help ? 0 : 2;
  }
  const name = checkUsername(positionals[1]!);
  const { config, dataDir } = resolveConfig(values);
  const store = await createStore(config.hub.db ?? `sqlite://${dataDir}/highrate.sqlite`);
  try {
    await store.migrate();
    if (!(await store.getUser(name))) throw fail('USER_NOT_FOUND', `No such user: ${name}. Users appear after their first login, or create them with POST /hub/api/users.`);
    const scopes = values.scopes ? validateScopes(values.scopes.split(',').map((s) => s.trim()).filter(Boolean)) : [];
    let expiresAt: string | null = null;
    if (values['expires-in'] !== undefined) {
      const n = Number(values['expires-in']);
      if (!Number.isInteger(n) || n <= 0) throw fail('BAD_REQUEST', '--expires-in must be a positive number of seconds.');
      expiresAt = new Date(Date.now() + n * 1000).toISOString();
    }
    const value = newSecret();
    const id = newTokenId();
    await store.insertToken({ id, user: name, hash: hashSecret(value), prefix: value.slice(0, 4), scopes, note: values.note ?? 'Issued with highrate token issue', kind: 'api', created: new Date().toISOString(), expiresAt, lastActivity: null });
    // Token issues are audited wherever they happen; this one by whoever ran the command.
    await store.appendAudit({ time: new Date().toISOString(), actor: 'cli', actorKind: 'system', action: 'token.issue', target: id, targetUser: name, outcome: 'ok', code: null, detail: { scopes, expires_at: expiresAt, via: 'highrate token issue' }, ip: null });
    process.stdout.write(value + '\n');
    return 0;
  } finally {
    await store.close();
  }
}
