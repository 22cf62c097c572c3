#!/usr/bin/env node
// The name JupyterHub runs by default (ConfigurableHTTPProxy.command): highrate's proxy, with
// configurable-http-proxy's flags, as `highrate proxy <args>`.
import { main } from '../dist/src/cli/main.js';
main(['proxy', ...process.argv.slice(2)]).then((code) => { process.exitCode = code; }, (err) => {
  console.error(err?.message ?? err);
  process.exitCode = 1;
});
