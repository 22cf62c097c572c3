/** Per-user quotas (from user, group and default entries), checked at every start and scale. */
export { QuotaService } from './quota-service.js';
export { checkQuota, type QuotaContext, type QuotaRequest } from './check.js';
export { effectiveLimits, type EffectiveLimits, type Limit } from './limits.js';
export { currentUsage, serverResources, type AdminWorkload, type Usage, type UsageProvider } from './usage.js';
