import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium, headless, as every browser test here starts it: no sandbox (root), and no
 * background networking (this machine's closed network refuses it, many connections at a time).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Logs `user` in through the portal's Log in button and the embedded IdP's form; ends on /hub/home. */
export async function portalLogin(page: Page, base: string, user: string, password: string): Promise<void> {
  await page.goto(`${base}/hub/home`);
  await page.click('[data-testid="login"]');
  await page.waitForURL(/\/oidc\//);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/hub/home`), page.click('button[type="submit"]')]);
}
