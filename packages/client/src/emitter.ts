/** A minimal typed event emitter: `events` maps each event name to its listener's argument. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(arg: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: (arg: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (arg: never) => void);
    return () => { set.delete(listener as (arg: never) => void); };
  }

  /** Calls every listener; a listener that throws does not stop the others or the caller. */
  emit<K extends keyof Events>(event: K, arg: Events[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (a: Events[K]) => void)(arg);
      } catch (err) {
        queueMicrotask(() => { throw err; });
      }
    }
  }
}
