import { fail } from '../errors/catalogue.js';

/** Shortest prefix the CLI resolves: shorter ones match too much to be typed on purpose. */
export const MIN_CLUSTER_PREFIX = 4;

export interface NamedCluster { name: string; status: string; user: string }

/**
 * The one cluster `typed` names: its full name, or (as git does with commit ids) a unique prefix of
 * it, such as the 12 characters a narrow table shows. Too short or ambiguous prefixes are refused
 * with the candidates, never guessed.
 */
export function resolveClusterName(typed: string, clusters: NamedCluster[]): string {
  const exact = clusters.find((c) => c.name === typed);
  if (exact) return exact.name;
  if (typed.length < MIN_CLUSTER_PREFIX) throw fail('BAD_REQUEST', `The cluster name ${typed} is too short: give the full name or at least ${MIN_CLUSTER_PREFIX} characters of it.`);
  const wanted = typed.toLowerCase();
  const matches = clusters.filter((c) => c.name.startsWith(wanted));
  if (matches.length === 0) throw fail('CLUSTER_NOT_FOUND', `No cluster named ${typed} or starting with it (\`highrate cluster list --all\` lists them).`);
  if (matches.length > 1) {
    throw fail('BAD_REQUEST', `The prefix ${typed} matches ${matches.length} clusters; give more characters:\n${matches.map((c) => `  ${c.name}  ${c.status.toLowerCase()}  ${c.user}`).join('\n')}`);
  }
  return matches[0]!.name;
}
