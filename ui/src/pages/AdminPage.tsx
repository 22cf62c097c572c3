import type { UserModel } from '../api/types.js';
import { Alert } from '../components/Alert.js';
import { AdminActivity } from '../components/AdminActivity.js';
import { AdminAudit } from '../components/AdminAudit.js';
import { AdminGroups } from '../components/AdminGroups.js';
import { AdminRoles } from '../components/AdminRoles.js';
import { AdminTabs, type AdminSection } from '../components/AdminTabs.js';
import { AdminUsers } from '../components/AdminUsers.js';
import { usePageTitle } from '../session.js';

/**
 * The admin portal. It only shows what the API lets the signed-in admin see and do, with their own
 * identity (there is no "act as" another user); every change lands in the audit log.
 */
export function AdminPage({ user, section }: { user: UserModel; section: AdminSection }) {
  usePageTitle('Administration');
  // Admins, and roles holding admin-ui (an instructor): each section shows what the API lets them see.
  const allowed = user.admin || (user.scopes ?? []).some((s) => s === 'admin-ui' || s.startsWith('admin-ui!'));
  if (!allowed) {
    return (
      <Alert kind="error" title="Not allowed">
        <p>The administration pages are for administrators.</p>
      </Alert>
    );
  }
  return (
    <>
      <div className="page-heading">
        <h1>Administration</h1>
      </div>
      <AdminTabs current={section} />
      {section === 'users' ? <AdminUsers self={user.name} /> : null}
      {section === 'groups' ? <AdminGroups /> : null}
      {section === 'activity' ? <AdminActivity /> : null}
      {section === 'audit' ? <AdminAudit /> : null}
      {section === 'roles' ? <AdminRoles /> : null}
    </>
  );
}
