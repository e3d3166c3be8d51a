/**
 * The closed catalogue of errors the server answers with. Handlers `throw` these; only
 * src/http/respond.ts turns them into bytes. Anything thrown that is not a ServiceError is answered as
 * InternalErrorException and logged with the request id.
 *
 * Each class carries its status under each protocol: restJson1 (Cognito Sync) takes the status from the
 * service model; awsJson1_1 (Cognito Identity) answers 400 for every client fault and 500 for server faults,
 * as AWS does for that protocol. docs/errors.md lists every code; test/api/errors.test.ts keeps the two in step.
 */
export type Protocol = 'restJson1' | 'awsJson1_1';

interface ErrorSpec {
  /** HTTP status under restJson1 (Cognito Sync). */
  readonly restStatus: number;
  /** HTTP status under awsJson1_1 (Cognito Identity). */
  readonly jsonStatus: number;
  readonly fault: 'client' | 'server';
  /** True for errors raised by the AWS front end (signing, routing, parsing), which no service model lists. */
  readonly frontEnd?: boolean;
  /** True for Cognito Sync errors its developer guide names but its model does not list (status chosen by Cosync). */
  readonly outsideModel?: boolean;
}

export const ERROR_SPECS = {
  // Cognito Sync service model exceptions (statuses from the model).
  InvalidParameterException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  NotAuthorizedException: { restStatus: 403, jsonStatus: 400, fault: 'client' },
  ResourceNotFoundException: { restStatus: 404, jsonStatus: 400, fault: 'client' },
  ResourceConflictException: { restStatus: 409, jsonStatus: 400, fault: 'client' },
  TooManyRequestsException: { restStatus: 429, jsonStatus: 400, fault: 'client' },
  LambdaThrottledException: { restStatus: 429, jsonStatus: 400, fault: 'client' },
  LimitExceededException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  InvalidLambdaFunctionOutputException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  InvalidConfigurationException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  ConcurrentModificationException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  DuplicateRequestException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  AlreadyStreamedException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  InternalErrorException: { restStatus: 500, jsonStatus: 500, fault: 'server' },
  // Named by the Cognito Sync developer guide (a Sync Trigger gave no answer within its 5 s), absent from the model;
  // 504 is Cosync's choice (docs/decisions.md).
  LambdaSocketTimeoutException: { restStatus: 504, jsonStatus: 500, fault: 'server', outsideModel: true },
  // Cognito Identity service model exceptions not already above.
  InvalidIdentityPoolConfigurationException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  ExternalServiceException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  DeveloperUserAlreadyRegisteredException: { restStatus: 400, jsonStatus: 400, fault: 'client' },
  // What Cognito Identity answers for an input that breaks its model's constraints (its Coral front end's check,
  // hence in no model). The Android and iOS credentials providers read it as "cached identity ID no longer
  // valid": they drop the ID and call GetId again.
  ValidationException: { restStatus: 400, jsonStatus: 400, fault: 'client', frontEnd: true },
  // AWS front-end errors (not in either model): signing, credentials, routing and body parsing.
  MissingAuthenticationTokenException: { restStatus: 403, jsonStatus: 400, fault: 'client', frontEnd: true },
  IncompleteSignatureException: { restStatus: 403, jsonStatus: 400, fault: 'client', frontEnd: true },
  InvalidSignatureException: { restStatus: 403, jsonStatus: 400, fault: 'client', frontEnd: true },
  UnrecognizedClientException: { restStatus: 403, jsonStatus: 400, fault: 'client', frontEnd: true },
  ExpiredTokenException: { restStatus: 403, jsonStatus: 400, fault: 'client', frontEnd: true },
  AccessDeniedException: { restStatus: 403, jsonStatus: 400, fault: 'client', frontEnd: true },
  SerializationException: { restStatus: 400, jsonStatus: 400, fault: 'client', frontEnd: true },
  UnknownOperationException: { restStatus: 404, jsonStatus: 400, fault: 'client', frontEnd: true },
  MethodNotAllowedException: { restStatus: 405, jsonStatus: 405, fault: 'client', frontEnd: true },
  // A request whose headers or body did not arrive in time (--http-*-timeout-ms); the SDKs retry it as transient.
  RequestTimeoutException: { restStatus: 408, jsonStatus: 408, fault: 'client', frontEnd: true },
  RequestEntityTooLargeException: { restStatus: 413, jsonStatus: 413, fault: 'client', frontEnd: true },
  UnsupportedMediaTypeException: { restStatus: 415, jsonStatus: 415, fault: 'client', frontEnd: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_SPECS;

/** An error with an AWS error code and a message that is safe to show to the caller. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  /** Extra response headers (e.g. Retry-After for throttling). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.headers = headers;
  }

  statusFor(protocol: Protocol): number {
    const spec: ErrorSpec = ERROR_SPECS[this.code];
    return protocol === 'restJson1' ? spec.restStatus : spec.jsonStatus;
  }

  get fault(): 'client' | 'server' {
    return ERROR_SPECS[this.code].fault;
  }
}

const make = (code: ErrorCode) => (message: string, headers?: Record<string, string>) =>
  new ServiceError(code, message, headers);

/** Factories, one per code, so call sites read `throw errors.notFound('…')`-style without string codes. */
export const errors = {
  invalidParameter: make('InvalidParameterException'),
  notAuthorized: make('NotAuthorizedException'),
  notFound: make('ResourceNotFoundException'),
  conflict: make('ResourceConflictException'),
  tooManyRequests: make('TooManyRequestsException'),
  limitExceeded: make('LimitExceededException'),
  lambdaThrottled: make('LambdaThrottledException'),
  invalidLambdaFunctionOutput: make('InvalidLambdaFunctionOutputException'),
  lambdaSocketTimeout: make('LambdaSocketTimeoutException'),
  invalidConfiguration: make('InvalidConfigurationException'),
  concurrentModification: make('ConcurrentModificationException'),
  duplicateRequest: make('DuplicateRequestException'),
  alreadyStreamed: make('AlreadyStreamedException'),
  internal: make('InternalErrorException'),
  invalidIdentityPoolConfiguration: make('InvalidIdentityPoolConfigurationException'),
  developerUserAlreadyRegistered: make('DeveloperUserAlreadyRegisteredException'),
  missingAuthenticationToken: make('MissingAuthenticationTokenException'),
  incompleteSignature: make('IncompleteSignatureException'),
  invalidSignature: make('InvalidSignatureException'),
  unrecognizedClient: make('UnrecognizedClientException'),
  expiredToken: make('ExpiredTokenException'),
  accessDenied: make('AccessDeniedException'),
  serialization: make('SerializationException'),
  validation: make('ValidationException'),
  unknownOperation: make('UnknownOperationException'),
  methodNotAllowed: make('MethodNotAllowedException'),
  requestTimeout: make('RequestTimeoutException'),
  requestEntityTooLarge: make('RequestEntityTooLargeException'),
  unsupportedMediaType: make('UnsupportedMediaTypeException'),
} as const;

/** The 404 for a pool that is not there (or was deleted meanwhile), worded once for every operation. */
export const poolNotFound = (identityPoolId: string): ServiceError =>
  errors.notFound(`IdentityPool '${identityPoolId}' not found.`);

/** The 404 for an identity that is not there (or was deleted meanwhile), worded once for every operation. */
export const identityNotFound = (identityId: string): ServiceError =>
  errors.notFound(`Identity '${identityId}' not found.`);
