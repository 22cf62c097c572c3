/**
 * The platform chaos tests break: `highrate up` as its own process on a fixed hub port (so a new
 * hub re-attaches to the proxy its predecessor left), tiny servers for HTTP load and a plain
 * `jupyter notebook` profile (`auth: token`: it never asks the hub, so a kernel does not depend on
 * it) for kernel WebSockets.
 */
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { freePortPair, Platform } from '../helpers/platform.js';
import { openChannels, startKernel } from '../helpers/kernel.js';
import type WebSocket from 'ws';

export async function chaosPlatform(extra: { hub?: Record<string, unknown>; config?: Record<string, unknown>; users?: Array<{ name: string }> } = {}): Promise<Platform> {
  const hubPort = await freePortPair();
  return Platform.start({
    process: true,
    ...(extra.users ? { users: extra.users } : {}),
    config: {
      ...(extra.config ?? {}),
      hub: { hubPort, ...(extra.hub ?? {}) },
      profiles: [
        { name: 'tiny', default: true, command: tinyServerCommand() },
        { name: 'notebook', auth: 'token' },
      ],
    },
  });
}

/** Starts tiny servers for `users` (tokens from the store); returns each user's auth header. */
export async function tinyUsers(p: Platform, users: string[]): Promise<Array<Record<string, string>>> {
  const headers: Array<Record<string, string>> = [];
  for (const u of users) {
    const token = await p.token(u);
    await p.startServer(u, token, { profile: 'tiny' });
    headers.push({ authorization: `token ${token}` });
  }
  return headers;
}

/** Starts `user`'s notebook server and a kernel; returns its open channels WebSocket and auth. */
export async function kernelUser(p: Platform, user: string): Promise<{ ws: WebSocket; auth: Record<string, string>; token: string }> {
  const token = await p.token(user);
  await p.startServer(user, token, { profile: 'notebook' });
  const auth = { authorization: `token ${token}` };
  const kernel = await startKernel(p.base, `/user/${user}/`, auth);
  const ws = await openChannels(p.base, `/user/${user}/`, kernel, auth);
  return { ws, auth, token };
}
