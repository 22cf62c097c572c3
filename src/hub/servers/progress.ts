import { EventEmitter } from 'node:events';

/** One event of JupyterHub's progress stream. */
export interface ProgressEvent {
  progress: number;
  message: string;
  html_message?: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}

/**
 * The events of each server's current start, replayed to late subscribers and followed live, as
 * JupyterHub's progress API does. A finished start keeps its last events until the next start.
 */
export class ProgressBoard {
  #events = new Map<string, ProgressEvent[]>();
  #bus = new EventEmitter();

  constructor() { this.#bus.setMaxListeners(0); }

  reset(key: string): void { this.#events.set(key, []); }

  push(key: string, event: ProgressEvent): void {
    let list = this.#events.get(key);
    if (!list) this.#events.set(key, (list = []));
    list.push(event);
    this.#bus.emit(key, event);
  }

  history(key: string): readonly ProgressEvent[] { return this.#events.get(key) ?? []; }

  /** Calls `fn` for each new event of `key` until the returned function is called. */
  follow(key: string, fn: (e: ProgressEvent) => void): () => void {
    this.#bus.on(key, fn);
    return () => this.#bus.off(key, fn);
  }
}
