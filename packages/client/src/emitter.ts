/** Where a listener's exception goes: it must neither stop the other listeners nor reach the code that emitted. */
export type ListenerErrorHandler = (error: unknown, event: string) => void;

/** The default: printed, since an app's listener bug should be seen, but never thrown (that would end a Node process). */
export const reportListenerError: ListenerErrorHandler = (error, event) => {
  console.error(`@cosync/client: a listener of '${event}' threw`, error);
};

/** A minimal typed event emitter: `events` maps each event name to its listener's argument. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(arg: never) => void>>();

  constructor(private readonly onListenerError: ListenerErrorHandler = reportListenerError) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: (arg: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (arg: never) => void);
    return () => { set.delete(listener as (arg: never) => void); };
  }

  /** Calls every listener; one that throws is reported to onListenerError and stops neither the others nor the caller. */
  emit<K extends keyof Events>(event: K, arg: Events[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (a: Events[K]) => void)(arg);
      } catch (err) {
        try {
          this.onListenerError(err, String(event));
        } catch {
          // The handler itself failed: nothing is left to tell.
        }
      }
    }
  }
}
