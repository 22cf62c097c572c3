import { useRef, useState } from 'react';

interface NewTokenPanelProps {
  token: string;
  onDone: () => void;
}

/** The secret of a token just created: shown this one time, with a copy button. */
export function NewTokenPanel({ token, onDone }: NewTokenPanelProps) {
  const field = useRef<HTMLInputElement | null>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);

  async function copy() {
    field.current?.select();
    try {
      await navigator.clipboard.writeText(token);
      setCopied('yes');
    } catch {
      // The clipboard API needs a secure context; the text stays selected for Ctrl+C.
      setCopied('no');
    }
  }

  return (
    <section className="alert alert-warning new-token" role="status" aria-labelledby="new-token-title" data-testid="new-token-panel">
      <div className="alert-body">
        <strong id="new-token-title" className="alert-title">
          Your new API token
        </strong>
        <p>Copy it now: it will not be shown again. Anyone holding it can act as you.</p>
        <div className="copy-row">
          <label htmlFor="new-token-value" className="visually-hidden">
            New API token
          </label>
          <input
            ref={field}
            id="new-token-value"
            className="mono"
            type="text"
            readOnly
            value={token}
            onFocus={(e) => e.target.select()}
            data-testid="new-token"
          />
          <button type="button" className="button" onClick={() => void copy()} data-testid="copy-token">
            Copy
          </button>
        </div>
        {copied === 'yes' ? <p className="hint">Copied to the clipboard.</p> : null}
        {copied === 'no' ? <p className="hint">Could not copy automatically: the token is selected, press Ctrl+C.</p> : null}
        <p>
          <button type="button" className="button" onClick={onDone} data-testid="new-token-done">
            I have saved it
          </button>
        </p>
      </div>
    </section>
  );
}
