import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api/client.js';
import { tokenPath, tokensPath } from '../api/paths.js';
import type { ApiToken, NewToken, UserModel } from '../api/types.js';
import { Alert } from '../components/Alert.js';
import { NewTokenPanel } from '../components/NewTokenPanel.js';
import { Time } from '../components/Time.js';
import { usePageTitle } from '../session.js';

/** Lifetimes offered for a new token, in seconds; "" means it never expires. */
const EXPIRY_CHOICES: { value: string; label: string }[] = [
  { value: '', label: 'Never' },
  { value: String(3600), label: '1 hour' },
  { value: String(86_400), label: '1 day' },
  { value: String(30 * 86_400), label: '30 days' },
];

/** "read:users, servers" or "read:users servers" → ["read:users", "servers"]. */
export function parseScopes(text: string): string[] {
  return text.split(/[\s,]+/).filter(function nonEmpty(s) {
    return s !== '';
  });
}

/** The user's API tokens: list, revoke, and request a new one (shown once). */
export function TokenPage({ user }: { user: UserModel }) {
  usePageTitle('API tokens');
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<NewToken | null>(null);
  const [note, setNote] = useState('');
  const [expiresIn, setExpiresIn] = useState('');
  const [scopes, setScopes] = useState('');
  const [requesting, setRequesting] = useState(false);
  const [revoking, setRevoking] = useState<string | null>(null);

  const load = useCallback(
    async function loadTokens() {
      try {
        const { body } = await api<{ api_tokens?: ApiToken[] }>('GET', tokensPath(user.name));
        setTokens(body?.api_tokens ?? []);
      } catch (err) {
        setError(errorMessage(err));
      }
    },
    [user.name],
  );

  useEffect(
    function loadOnce() {
      void load();
    },
    [load],
  );

  async function requestToken(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    setRequesting(true);
    const body: { note: string; expires_in?: number; scopes?: string[] } = { note: note.trim() };
    if (expiresIn !== '') body.expires_in = Number(expiresIn);
    // No `scopes` field means the token holds all of the user's own permissions.
    const wanted = parseScopes(scopes);
    if (wanted.length > 0) body.scopes = wanted;
    try {
      const { body: answer } = await api<NewToken>('POST', tokensPath(user.name), body);
      if (answer?.token) setCreated(answer);
      else setError('The hub created a token but did not return it.');
      setNote('');
      setScopes('');
      await load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setRequesting(false);
    }
  }

  async function revoke(id: string) {
    setError(null);
    setRevoking(id);
    try {
      await api('DELETE', tokenPath(user.name, id));
      if (created?.id === id) setCreated(null);
      await load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setRevoking(null);
    }
  }

  return (
    <>
      <div className="page-heading">
        <h1>API tokens</h1>
      </div>
      {error !== null ? (
        <Alert kind="error" title="Something went wrong" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Alert>
      ) : null}
      {created ? <NewTokenPanel token={created.token} onDone={() => setCreated(null)} /> : null}

      <section className="card" aria-labelledby="request-title">
        <h2 id="request-title">Request a new token</h2>
        <p className="muted">
          Tokens let scripts and tools call the hub API as you: send it as <code>Authorization: token …</code>.
        </p>
        <form className="token-form" onSubmit={requestToken}>
          <fieldset disabled={requesting}>
            <div className="field-row">
              <div className="field field-wide">
                <label htmlFor="token-note">Note</label>
                <input
                  id="token-note"
                  name="note"
                  type="text"
                  value={note}
                  onChange={(e) => setNote(e.target.value)}
                  placeholder="What is this token for?"
                  maxLength={200}
                  autoComplete="off"
                  data-testid="token-note"
                />
              </div>
              <div className="field">
                <label htmlFor="token-expires">Expires in</label>
                <select id="token-expires" name="expires_in" value={expiresIn} onChange={(e) => setExpiresIn(e.target.value)} data-testid="token-expires">
                  {EXPIRY_CHOICES.map(function option(c) {
                    return (
                      <option key={c.value} value={c.value}>
                        {c.label}
                      </option>
                    );
                  })}
                </select>
              </div>
            </div>
            <div className="field">
              <label htmlFor="token-scopes">Scopes (optional)</label>
              <input
                id="token-scopes"
                name="scopes"
                type="text"
                value={scopes}
                onChange={(e) => setScopes(e.target.value)}
                placeholder="e.g. read:users:activity, servers!user"
                autoComplete="off"
                spellCheck={false}
                aria-describedby="token-scopes-hint"
                data-testid="token-scopes"
              />
              <span id="token-scopes-hint" className="hint">
                Leave empty to give the token all of your own permissions. Separate scopes with spaces or commas.
              </span>
            </div>
          </fieldset>
          <div className="form-actions">
            <button type="submit" className="button button-primary" disabled={requesting} data-testid="token-submit">
              {requesting ? 'Requesting…' : 'Request new token'}
            </button>
          </div>
        </form>
      </section>

      <section className="card" aria-labelledby="tokens-title">
        <h2 id="tokens-title">Your tokens</h2>
        {tokens === null && error === null ? <p className="muted" role="status">Loading…</p> : null}
        {tokens !== null && tokens.length === 0 ? (
          <p className="empty" data-testid="no-tokens">
            You have no API tokens.
          </p>
        ) : null}
        {tokens !== null && tokens.length > 0 ? (
          <div className="table-wrap">
            <table className="table" data-testid="token-table">
              <caption className="visually-hidden">Your API tokens</caption>
              <thead>
                <tr>
                  <th scope="col">Note</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last activity</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.map(function row(t) {
                  return (
                    <tr key={t.id} data-testid={`token-row-${t.id}`}>
                      <th scope="row">{t.note ? t.note : <span className="muted">No note</span>}</th>
                      <td>
                        <Time value={t.created} />
                      </td>
                      <td>
                        <Time value={t.last_activity} empty="Never" />
                      </td>
                      <td>
                        <Time value={t.expires_at} empty="Never" />
                      </td>
                      <td>
                        <ScopeList scopes={t.scopes} />
                      </td>
                      <td className="actions">
                        <button
                          type="button"
                          className="button button-danger"
                          onClick={() => void revoke(t.id)}
                          disabled={revoking === t.id}
                          data-testid="revoke"
                          aria-label={`Revoke token ${t.note || t.id}`}
                        >
                          {revoking === t.id ? 'Revoking…' : 'Revoke'}
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
    </>
  );
}

function ScopeList({ scopes }: { scopes: string[] }) {
  if (scopes.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="scopes">
      {scopes.map(function scope(s) {
        return (
          <li key={s}>
            <code>{s}</code>
          </li>
        );
      })}
    </ul>
  );
}
