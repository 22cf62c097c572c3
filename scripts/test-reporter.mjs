// node's TAP reporter, plus a list of the failed tests just before the closing summary.
// CI keeps only the tail of a long output: with this list there, a red run says which test
// failed and why, without the whole log. Everything else is the TAP node prints itself.
import { relative } from 'node:path';
import { tap } from 'node:test/reporters';

const MAX_MESSAGE = 400;

function firstLines(error) {
  const cause = error?.cause ?? error;
  const text = String(cause?.message ?? cause ?? 'failed');
  const short = text.split('\n').filter((l) => l.trim() !== '').slice(0, 6).join('\n');
  return short.length > MAX_MESSAGE ? `${short.slice(0, MAX_MESSAGE)}…` : short;
}

function failureBlock(failures) {
  const lines = [`# ${failures.length} failed:`];
  for (const f of failures) {
    lines.push(`#   ✖ ${f.name}${f.file ? `  (${f.file})` : ''}`);
    for (const line of f.message.split('\n')) lines.push(`#       ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

export default async function* report(source) {
  const failures = [];
  async function* watched() {
    for await (const event of source) {
      // Only leaves: a failed suite is failed because a test in it failed, which is listed.
      if (event.type === 'test:fail' && event.data.details?.type !== 'suite') {
        failures.push({
          name: event.data.name,
          file: event.data.file && relative(process.cwd(), event.data.file),
          message: firstLines(event.data.details?.error),
        });
      }
      yield event;
    }
  }
  let listed = false;
  for await (const chunk of tap(watched())) {
    if (!listed && failures.length > 0 && chunk.startsWith('# tests ')) {
      listed = true;
      yield failureBlock(failures);
    }
    yield chunk;
  }
}
