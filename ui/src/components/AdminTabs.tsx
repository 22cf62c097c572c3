import { Link } from './Link.js';

export type AdminSection = 'users' | 'groups' | 'activity' | 'audit' | 'roles';

const TABS: { section: AdminSection; label: string; to: string }[] = [
  { section: 'users', label: 'Users', to: '/hub/admin' },
  { section: 'groups', label: 'Groups', to: '/hub/admin/groups' },
  { section: 'activity', label: 'Running', to: '/hub/admin/activity' },
  { section: 'audit', label: 'Audit log', to: '/hub/admin/audit' },
  { section: 'roles', label: 'Roles', to: '/hub/admin/roles' },
];

/** The admin portal's sections. */
export function AdminTabs({ current }: { current: AdminSection }) {
  return (
    <nav className="admin-tabs" aria-label="Administration">
      {TABS.map(function tab(t) {
        return (
          <Link key={t.section} to={t.to} aria-current={t.section === current ? 'page' : undefined} data-testid={`admin-tab-${t.section}`}>
            {t.label}
          </Link>
        );
      })}
    </nav>
  );
}
