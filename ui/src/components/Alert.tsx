import type { ReactNode } from 'react';

interface AlertProps {
  kind?: 'error' | 'warning' | 'info' | 'success';
  title?: string;
  children: ReactNode;
  onDismiss?: () => void;
}

/** A visible message box; errors are announced to screen readers at once. */
export function Alert({ kind = 'error', title, children, onDismiss }: AlertProps) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={`alert-${kind}`}>
      <div className="alert-body">
        {title ? <strong className="alert-title">{title}</strong> : null}
        {children}
      </div>
      {onDismiss ? (
        <button type="button" className="alert-dismiss" onClick={onDismiss} aria-label="Dismiss message">
          ×
        </button>
      ) : null}
    </div>
  );
}
