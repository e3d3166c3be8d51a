import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TriggerFailed, parseAnswer, type TriggerCall, type TriggerInvoker } from './invoker.js';

/**
 * In-process triggers: an ES module the operator names with --sync-trigger-modules exports, as its default export or
 * as `handler`, a function `(event, context) => output | Promise<output>`, like a Lambda handler. The event is a
 * fresh copy the function may change and return; what it returns goes through JSON, as a Lambda answer would.
 * A thrown error is a function error. The module is loaded on first use and kept.
 *
 * The code runs in the server's process with its rights: only the operator's configuration can name it. A call
 * that outlives the timeout is answered as a timeout but cannot be stopped; a function that blocks the event loop
 * blocks the server.
 */
export class ModuleInvokers {
  private readonly loaded = new Map<string, Promise<TriggerHandler>>();

  constructor(private readonly modules: Readonly<Record<string, string>>) {}

  forModule(name: string): TriggerInvoker {
    return { invoke: (call) => this.invoke(name, call) };
  }

  private handler(name: string): Promise<TriggerHandler> {
    let handler = this.loaded.get(name);
    if (!handler) {
      handler = load(name, this.modules[name] ?? '');
      // A module that failed to load is tried again next time (the file may have been fixed).
      handler.catch(() => this.loaded.delete(name));
      this.loaded.set(name, handler);
    }
    return handler;
  }

  private async invoke(name: string, call: TriggerCall): Promise<unknown> {
    const handler = await this.handler(name);
    let answer: unknown;
    try {
      answer = await handler(JSON.parse(call.body) as unknown, { requestId: call.requestId, signal: call.signal });
    } catch (err) {
      if (call.signal.aborted) throw err;
      throw new TriggerFailed('error', 'the Sync Trigger module threw an error', err);
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(answer);
    } catch (err) {
      throw new TriggerFailed('error', 'the Sync Trigger module answered something that cannot be JSON', err);
    }
    if (text === undefined) throw new TriggerFailed('error', 'the Sync Trigger module answered nothing');
    return parseAnswer(text);
  }
}

/** What a trigger module exports. `context.signal` aborts when Cosync stops waiting (timeout). */
export type TriggerHandler = (event: unknown, context: { requestId: string; signal: AbortSignal }) => unknown;

async function load(name: string, path: string): Promise<TriggerHandler> {
  const specifier = path.startsWith('file:') ? path : pathToFileURL(isAbsolute(path) ? path : resolve(path)).href;
  let mod: { default?: unknown; handler?: unknown };
  try {
    mod = (await import(specifier)) as { default?: unknown; handler?: unknown };
  } catch (err) {
    throw new TriggerFailed('error', `the Sync Trigger module '${name}' could not be loaded`, err);
  }
  const fn = typeof mod.default === 'function' ? mod.default : mod.handler;
  if (typeof fn !== 'function') {
    throw new TriggerFailed('error', `the Sync Trigger module '${name}' exports no default or handler function`);
  }
  return fn as TriggerHandler;
}
