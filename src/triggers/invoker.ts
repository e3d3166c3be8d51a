/** What each kind of Sync Trigger target implements. */
export interface TriggerInvoker {
  /**
   * Calls the trigger with the event (`body` is the event as JSON text) and resolves with its answer, parsed.
   * Rejects with TriggerFailed; gives up when `signal` aborts (the caller then answers the timeout).
   */
  invoke(call: TriggerCall): Promise<unknown>;
  close?(): Promise<void> | void;
}

export interface TriggerCall {
  readonly body: string;
  readonly requestId: string;
  readonly signal: AbortSignal;
}

/**
 * A trigger that failed. `error`: the function failed or its answer was not usable (InvalidLambdaFunctionOutputException);
 * `throttled`: the target said it is overloaded or unavailable for now (LambdaThrottledException); `timeout`: a
 * gateway in front of it gave up waiting for it (LambdaSocketTimeoutException). The SDKs retry the last two, not the
 * first. `message` is safe to show to the app; `detail` goes to the server log only.
 */
export class TriggerFailed extends Error {
  constructor(readonly kind: 'error' | 'throttled' | 'timeout', message: string, readonly detail?: unknown) {
    super(message);
    this.name = 'TriggerFailed';
  }
}

/** Parses a trigger's answer as JSON; anything else is a function error. */
export function parseAnswer(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TriggerFailed('error', 'the Sync Trigger answered something that is not JSON');
  }
}

/** The most bytes a trigger answer may have (AWS Lambda's synchronous response limit, 6 MB). */
export const MAX_ANSWER_BYTES = 6 * 1024 * 1024;
