import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, errorMessage } from '../api/client.js';
import { Alert } from './Alert.js';
import { formatBytes } from './DataApi.js';
import { storageBrowsePath, type StorageListing, type StorageRoots } from './StorageApi.js';
import { Time } from './Time.js';

/** A URL to copy into a notebook, with a Copy button (the text is selected when the clipboard is refused). */
function CopyUrl({ url, label }: { url: string; label: string }) {
  const [copied, setCopied] = useState(false);
  async function copy(e: React.MouseEvent<HTMLButtonElement>) {
    const code = e.currentTarget.previousElementSibling;
    if (code) window.getSelection()?.selectAllChildren(code);
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      // Needs a secure context; the text stays selected for Ctrl+C.
    }
  }
  return (
    <div className="storage-url">
      <code title={label}>{url}</code>{' '}
      <button type="button" className="link-button" aria-label={`Copy ${label}`} onClick={(e) => void copy(e)}>{copied ? 'Copied' : 'Copy'}</button>
    </div>
  );
}

/** The message of a failed call with its stable code, e.g. "… (403 STORAGE_FORBIDDEN)". */
function failure(err: unknown): string {
  return err instanceof ApiError && err.code ? `${err.message} (${err.status} ${err.code})` : errorMessage(err);
}

/**
 * The facility's embedded storage element, browsed through the hub with the user's own storage
 * token: the areas the token may read, directories, files with their root:// and https:// URLs.
 */
export function StorageBrowser() {
  const [roots, setRoots] = useState<StorageRoots | null>(null);
  const [listing, setListing] = useState<StorageListing | null>(null);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [unavailable, setUnavailable] = useState<string | null>(null);

  useEffect(function loadRoots() {
    api<StorageRoots>('GET', storageBrowsePath()).then(
      (r) => setRoots(r.body),
      (err: unknown) => setUnavailable(failure(err)),
    );
  }, []);

  const open = useCallback(async function openPath(path: string) {
    setError(null);
    setTyped(path);
    try {
      const r = await api<StorageListing>('GET', storageBrowsePath(path));
      setListing(r.body);
    } catch (err) {
      setListing(null);
      setError(failure(err));
    }
  }, []);

  function submit(e: FormEvent) {
    e.preventDefault();
    void open(typed.trim());
  }

  if (unavailable !== null) {
    return <Alert kind="info" title="No data service"><p data-testid="storage-unavailable">{unavailable}</p></Alert>;
  }
  return (
    <section className="card" aria-label="Storage" data-testid="storage-browser">
      <h2>Storage</h2>
      <p className="muted">
        The facility&apos;s storage element, seen with your own storage token: you see what it may read.
      </p>
      {roots === null ? <p className="muted" role="status">Loading…</p> : (
        <p data-testid="storage-roots">
          {roots.roots.map((r) => (
            <button key={r.path} type="button" className="button" onClick={() => void open(r.path)} title={r.access} data-testid="storage-root">{r.path}</button>
          ))}
        </p>
      )}
      <form className="inline-form" onSubmit={submit} aria-label="Open a path">
        <label>
          Path <input value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="/public" required data-testid="storage-path" />
        </label>{' '}
        <button type="submit" className="button" data-testid="storage-open">Open</button>
      </form>
      {error !== null ? (
        <Alert kind="error" title="Storage" onDismiss={() => setError(null)}>
          <p data-testid="storage-error">{error}</p>
        </Alert>
      ) : null}
      {listing !== null ? (
        <>
          <h3 data-testid="storage-cwd">{listing.path}</h3>
          {listing.parent !== null ? <p><button type="button" className="link-button" onClick={() => void open(listing.parent!)} data-testid="storage-up">↑ {listing.parent}</button></p> : null}
          <div className="table-wrap">
            <table className="table" data-testid="storage-listing">
              <thead><tr><th>Name</th><th>Size</th><th>Modified</th><th>URLs for notebooks</th></tr></thead>
              <tbody>
                {listing.entries.length === 0 ? <tr><td colSpan={4} className="muted">Empty.</td></tr> : null}
                {listing.entries.map((e) => (
                  <tr key={e.path} data-path={e.path}>
                    <th>{e.dir ? <button type="button" className="link-button" onClick={() => void open(e.path)}>{e.name}/</button> : e.name}</th>
                    <td>{e.dir ? '—' : formatBytes(e.size)}</td>
                    <td><Time value={e.mtime} /></td>
                    <td>{e.dir ? null : (
                      <>
                        <CopyUrl url={e.rootUrl} label={`root:// URL of ${e.name}`} />
                        <CopyUrl url={e.httpsUrl} label={`https:// URL of ${e.name}`} />
                      </>
                    )}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {listing.truncated ? <p className="hint">Only the first {listing.entries.length} entries are shown.</p> : null}
          <p className="hint">
            In a notebook, XRootD clients find your token by BEARER_TOKEN_FILE; https clients send it as
            &quot;Authorization: Bearer&quot; and trust HIGHRATE_STORAGE_CA (docs/storage.md).
          </p>
        </>
      ) : null}
    </section>
  );
}
