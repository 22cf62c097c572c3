/**
 * oidc-provider 9 prints "Unsupported runtime. Use Node.js v22.x LTS …" with console.warn while
 * its module is evaluated, on every Node 20 start, although highrate supports and tests Node
 * >= 20.19 (package.json engines). This module is imported just before oidc-provider: it drops
 * exactly that line, and src/idp/index.ts ends the filter once oidc-provider is loaded, so no
 * other warning is ever hidden.
 */
const RUNTIME_WARNING = /^(\x1b\[[0-9;]*m)?oidc-provider WARNING: Unsupported runtime\. /;

const originalWarn = console.warn;

export function isRuntimeWarning(args: unknown[]): boolean {
  return args.length === 1 && typeof args[0] === 'string' && RUNTIME_WARNING.test(args[0]);
}

console.warn = function warnExceptRuntimeNotice(...args: unknown[]): void {
  if (!isRuntimeWarning(args)) originalWarn.apply(console, args);
};

/** Puts console.warn back as it was (called once oidc-provider has been evaluated). */
export function endRuntimeWarningFilter(): void {
  console.warn = originalWarn;
}
