/**
 * A prefix trie keyed by path segment: the longest registered prefix of a path wins, and a prefix
 * only matches whole segments (`/user/al` does not match `/user/alice`). Leading and trailing
 * slashes are ignored, inner empty segments are kept, as in CHP's URLTrie.
 * Lookups cost one Map probe per segment, independent of how many routes exist.
 */
export class PrefixTrie<T> {
  readonly #root: TrieNode<T> = new TrieNode<T>();
  #size = 0;

  /** Number of prefixes that hold a value. */
  get size(): number {
    return this.#size;
  }

  /** Stores `value` at `prefix`, replacing what was there. */
  set(prefix: string, value: T): void {
    let node = this.#root;
    for (const seg of segments(prefix)) {
      let child = node.children?.get(seg);
      if (child === undefined) {
        child = new TrieNode<T>();
        (node.children ??= new Map()).set(seg, child);
      }
      node = child;
    }
    if (node.value === undefined) this.#size++;
    node.value = value;
  }

  /** Removes the value at exactly `prefix` (not its descendants); prunes empty branches. */
  delete(prefix: string): boolean {
    const path: Array<[TrieNode<T>, string]> = [];
    let node = this.#root;
    for (const seg of segments(prefix)) {
      const child = node.children?.get(seg);
      if (child === undefined) return false;
      path.push([node, seg]);
      node = child;
    }
    if (node.value === undefined) return false;
    node.value = undefined;
    this.#size--;
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, seg] = path[i]!;
      const child = parent.children!.get(seg)!;
      if (child.value !== undefined || (child.children !== null && child.children.size > 0)) break;
      parent.children!.delete(seg);
    }
    return true;
  }

  /** The value stored at exactly `prefix`, if any. */
  get(prefix: string): T | undefined {
    let node = this.#root;
    for (const seg of segments(prefix)) {
      const child = node.children?.get(seg);
      if (child === undefined) return undefined;
      node = child;
    }
    return node.value;
  }

  /**
   * The value of the longest prefix of `path`, or undefined. Walks the path in place with
   * indexOf, so the only allocation per segment is the segment string used as the Map key.
   */
  match(path: string): T | undefined {
    let node = this.#root;
    let best = node.value;
    let i = 0;
    let end = path.length;
    while (i < end && path.charCodeAt(i) === 47) i++;
    while (end > i && path.charCodeAt(end - 1) === 47) end--;
    while (i < end && node.children !== null) {
      let j = path.indexOf('/', i);
      if (j === -1 || j > end) j = end;
      const child = node.children.get(path.slice(i, j));
      if (child === undefined) break;
      node = child;
      if (node.value !== undefined) best = node.value;
      i = j + 1;
    }
    return best;
  }
}

class TrieNode<T> {
  value: T | undefined = undefined;
  children: Map<string, TrieNode<T>> | null = null;
}

/** `/a/b/` → ['a', 'b']; `/` → []; `/a//b` → ['a', '', 'b'] (as CHP's stringToPath). */
export function segments(prefix: string): string[] {
  let i = 0;
  let end = prefix.length;
  while (i < end && prefix.charCodeAt(i) === 47) i++;
  while (end > i && prefix.charCodeAt(end - 1) === 47) end--;
  return i === end ? [] : prefix.slice(i, end).split('/');
}
