#!/usr/bin/env node
/**
 * Process entry: `node dist/src/proxy/main.js --port 8000 --api-port 8001 --default-target … [--authorize-url …]`.
 * The route API token comes from CONFIGPROXY_AUTH_TOKEN, as configurable-http-proxy, or from --auth-token-file.
 */
import { runProxyProcess } from './process.js';

// Exit explicitly: after a graceful close nothing of ours is left, and nothing else should hold the process.
process.exit(await runProxyProcess(process.argv.slice(2)));
