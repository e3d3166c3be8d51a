/** The subset of an AWS service model (botocore JSON) that the server interprets. */
export interface ServiceModel {
  readonly metadata: { readonly protocol: string; readonly endpointPrefix: string; readonly targetPrefix: string | null };
  readonly operations: Readonly<Record<string, OperationModel>>;
  readonly shapes: Readonly<Record<string, ShapeModel>>;
}

export interface OperationModel {
  /** Present for restJson1 operations only. */
  readonly http?: { readonly method: string; readonly uri: string };
  readonly input: string | null;
  /** Names of the exception shapes the model lets this operation raise. */
  readonly errors: readonly string[];
  /** `none` marks the unsigned ("public") Cognito Identity operations. */
  readonly authtype?: string;
}

export interface MemberModel {
  readonly shape: string;
  /** `uri`, `querystring` or `header`; absent for body members. */
  readonly location?: string;
  readonly locationName?: string;
}

export interface ShapeModel {
  readonly type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'double' | 'float' | 'blob';
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly required?: readonly string[];
  readonly members?: Readonly<Record<string, MemberModel>>;
  readonly member?: string;
  readonly key?: string;
  readonly value?: string;
}
