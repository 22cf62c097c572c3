/** The audit log: who did what, when, and whether it was allowed. */
export { AuditLog, ANONYMOUS, SYSTEM, clientIp, type AuditActor, type AuditEvent } from './audit-log.js';
