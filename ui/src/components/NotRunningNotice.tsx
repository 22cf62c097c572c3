import type { UserModel } from '../api/types.js';
import { spawnPagePath } from '../api/paths.js';
import { linkWithin, serverUrl, withNext } from '../links.js';
import { navigate } from '../router.js';
import { Alert } from './Alert.js';
import { Link } from './Link.js';

interface NotRunningNoticeProps {
  user: UserModel;
  /** `not_running` from the home page's query: the server the link needs ("" default). */
  server: string;
  /** `next` from the query: the link that was opened. */
  next: string | null;
}

/**
 * The hub sends the owner of a link into a stopped server here (`/hub/home?not_running=&next=`),
 * as JupyterHub's "not running" page: which server, the link, and a Start that comes back to it.
 */
export function NotRunningNotice({ user, server, next }: NotRunningNoticeProps) {
  const link = linkWithin(next, serverUrl(user.name, server));
  const model = user.servers?.[server];
  const name = server === '' ? 'Your server' : `Your server “${server}”`;
  const dismiss = () => navigate('/hub/home', { replace: true });

  if (model?.ready && model.pending === null) {
    return (
      <Alert kind="success" title={`${name} is running now`} onDismiss={dismiss}>
        {link !== null ? (
          <p className="alert-actions">
            <a className="button button-primary" href={link} data-testid="not-running-open">
              Open <code>{link}</code>
            </a>
          </p>
        ) : null}
      </Alert>
    );
  }
  return (
    <Alert kind="warning" title={`${name} is not running`} onDismiss={dismiss}>
      <p data-testid="not-running">
        {link !== null ? (
          <>
            The link <code>{link}</code> leads into it. Start the server and you will be taken there once it is ready.
          </>
        ) : (
          <>Start the server to open the link.</>
        )}
      </p>
      <p className="alert-actions">
        <Link to={withNext(spawnPagePath(user.name, server, user.name), link)} className="button button-primary" data-testid="not-running-start">
          {model?.pending === 'spawn' ? 'Show progress' : 'Start'}
        </Link>
      </p>
    </Alert>
  );
}
