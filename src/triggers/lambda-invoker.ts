import { InvokeCommand, LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { LambdaTargetConfig } from './config.js';
import { MAX_ANSWER_BYTES, TriggerFailed, parseAnswer, type TriggerCall, type TriggerInvoker } from './invoker.js';

const THROTTLE_ERRORS = new Set(['TooManyRequestsException', 'EC2ThrottledException']);
/**
 * Lambda's own passing failures. Its other 5xx errors (an invalid package, a KMS key or subnet it cannot use) last
 * until someone fixes the function: retrying those would only repeat them.
 */
const PASSING_ERRORS = new Set(['ServiceException', 'ResourceNotReadyException', 'EC2UnexpectedException']);

/**
 * Invokes Lambda functions synchronously (`RequestResponse`) through the AWS SDK's Lambda client, so the target is
 * AWS Lambda or anything that speaks its Invoke API (`POST /2015-03-31/functions/<name>/invocations`) at
 * --lambda-endpoint. One client per signing region; the SDK's own retries are off (a throttled call must reach the
 * app as LambdaThrottledException, and the time budget is the trigger timeout).
 */
export class LambdaInvokers {
  private readonly clients = new Map<string, LambdaClient>();

  constructor(private readonly config: LambdaTargetConfig) {}

  forFunction(arn: string, arnRegion: string): TriggerInvoker {
    return { invoke: (call) => this.invoke(arn, arnRegion, call) };
  }

  private client(arnRegion: string): LambdaClient {
    const region = this.config.region ?? arnRegion;
    let client = this.clients.get(region);
    if (!client) {
      const { endpoint, accessKeyId, secretAccessKey } = this.config;
      const options: LambdaClientConfig = { region, maxAttempts: 1 };
      if (endpoint !== null) options.endpoint = endpoint;
      if (accessKeyId !== null && secretAccessKey !== null) options.credentials = { accessKeyId, secretAccessKey };
      client = new LambdaClient(options);
      this.clients.set(region, client);
    }
    return client;
  }

  private async invoke(arn: string, arnRegion: string, call: TriggerCall): Promise<unknown> {
    let out;
    try {
      out = await this.client(arnRegion).send(
        new InvokeCommand({ FunctionName: arn, InvocationType: 'RequestResponse', Payload: Buffer.from(call.body, 'utf8') }),
        { abortSignal: call.signal },
      );
    } catch (err) {
      if (call.signal.aborted) throw err;
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (THROTTLE_ERRORS.has(e.name ?? '') || e.$metadata?.httpStatusCode === 429) {
        throw new TriggerFailed('throttled', 'the Sync Trigger function was throttled', err);
      }
      if (PASSING_ERRORS.has(e.name ?? '')) {
        throw new TriggerFailed('throttled', `the Lambda service could not run the function for now (${e.name ?? 'Error'})`, err);
      }
      throw new TriggerFailed('error', `the Sync Trigger function could not be invoked (${e.name ?? 'Error'})`, err);
    }
    const payload = Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8');
    if (out.FunctionError !== undefined) {
      throw new TriggerFailed('error', `the Sync Trigger function failed (${out.FunctionError})`, payload.slice(0, 2000));
    }
    if (Buffer.byteLength(payload) > MAX_ANSWER_BYTES) throw new TriggerFailed('error', 'the Sync Trigger answer is too large');
    return parseAnswer(payload);
  }

  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}
