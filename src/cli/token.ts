import { parseArgs } from 'node:util';
import { validateScopes } from '../auth/scopes.js';
import { hashSecret, newSecret, newTokenId } from '../auth/tokens.js';
import { fail } from '../errors/catalogue.js';
import { checkUsername } from '../hub/names.js';
import { createStore } from '../store/index.js';
import { DEPLOYMENT_FLAGS, resolveConfig, usage } from './common.js';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/types.js';
import { createOidcLogin, externalOidcConfig } from '../auth/oidc-login.js';
import { loadSecret } from '../hub/secrets.js';
import { storageTokensFromIssuer } from '../storage/issuer-tokens.js';
import { loadStorageSigner, signStorageToken, storageIssuer, type StorageToken } from '../storage/index.js';

const HELP = `
Usage: highrate token issue USER [options]

Issues an API token for an existing user and prints it as the last line (like \`jupyterhub token\`).
Use it as "Authorization: token <token>" with the JupyterHub REST API at /hub/api/.

With --storage, prints a WLCG storage token instead (a JWT for XRootD, dCache, EOS: scopes
storage.read/create/modify by the storage policy of the config, signed by the embedded IdP's key),
valid storage.tokenLifetime seconds (or --expires-in). With storage.tokenSource oidc the token comes
from the external issuer instead (a refresh grant from the refresh token the hub keeps for the user
since their last login; its lifetime is the issuer's). Use it as "Authorization: Bearer <token>"
or put it in the file BEARER_TOKEN_FILE names (mode 0600).

Options:
  --storage          issue a WLCG storage token (see above)
  --note TEXT        what the token is for
  --scopes A,B       limit the token to these scopes (default: all of the user's permissions)
  --expires-in SEC   lifetime in seconds (default: never expires)
  --data-dir DIR     state directory (default ./highrate-data)
  --config FILE      YAML config (for a PostgreSQL store)
  -h, --help         this help
`;

export async function token(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...DEPLOYMENT_FLAGS, storage: { type: 'boolean' }, note: { type: 'string' }, scopes: { type: 'string' }, 'expires-in': { type: 'string' } } });
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
    if (values.storage) return await storageToken(store, config, dataDir, name, values['expires-in']);
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

/**
 * `token issue USER --storage`: a WLCG storage token for USER (who must exist: the groups come from
 * the store), printed as the last line; audited by its jti, never by its value.
 */
async function storageToken(store: Store, config: Config, dataDir: string, name: string, expiresIn: string | undefined): Promise<number> {
  const user = await store.getUser(name);
  if (!user) throw fail('USER_NOT_FOUND', `No such user: ${name}. Users appear after their first login, or create them with POST /hub/api/users.`);
  let lifetime = config.storage.tokenLifetime;
  if (expiresIn !== undefined) {
    lifetime = Number(expiresIn);
    if (!Number.isInteger(lifetime) || lifetime <= 0 || lifetime > 6 * 3600) throw fail('BAD_REQUEST', '--expires-in for a storage token must be 1 to 21600 seconds.');
  }
  const publicUrl = (config.hub.publicUrl ?? `http://${config.hub.ip}:${config.hub.port}`).replace(/\/+$/, '');
  let t: StorageToken;
  const fromIssuer = config.auth.oidc && storageTokensFromIssuer(config, store, () => loadSecret(dataDir, 'upstream-seal-key'), createOidcLogin(externalOidcConfig(config.auth.oidc, publicUrl)));
  if (fromIssuer) {
    if (expiresIn !== undefined) throw fail('BAD_REQUEST', '--expires-in cannot be used with storage.tokenSource oidc: the issuer decides the lifetime of its tokens.');
    t = await fromIssuer.tokens.issue(name, user.groups);
  } else {
    // The issuer is the hub's own (`<publicUrl>/oidc`), as in startHub, so storage elements provisioned with its keys accept the token.
    const signer = await loadStorageSigner(dataDir, storageIssuer(publicUrl));
    t = await signStorageToken(signer, { user: name, groups: user.groups, policy: config.storage, audience: config.storage.audience, lifetime });
  }
  await store.appendAudit({ time: new Date().toISOString(), actor: 'cli', actorKind: 'system', action: 'storage-token.issue', target: t.jti, targetUser: name, outcome: 'ok', code: null, detail: { scope: t.scope, expires_at: new Date(t.expiresAt * 1000).toISOString(), via: 'highrate token issue --storage', issuer: fromIssuer ? fromIssuer.issuer : 'hub' }, ip: null });
  process.stdout.write(t.token + '\n');
  return 0;
}
