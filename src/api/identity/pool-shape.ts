import { errors } from '../errors.js';
import type { CognitoIdentityProvider, IdentityPool } from '../../storage/types.js';
import { oidcProviderName } from '../../auth/login-providers.js';
import { COGNITO_IDENTITY_PROVIDER } from './logins.js';
import { checkTagCount } from './tags.js';

/**
 * The one place where identity pools change case: storage rows (camelCase) ↔ the wire `IdentityPool` shape
 * (PascalCase) that CreateIdentityPool, DescribeIdentityPool and UpdateIdentityPool answer with.
 */

export interface CognitoIdentityProviderWire {
  ProviderName?: string;
  ClientId?: string;
  ServerSideTokenCheck?: boolean;
}

/** The pool's settings as a caller sends them: CreateIdentityPoolInput, and IdentityPool minus its ID. */
export interface IdentityPoolSettingsWire {
  IdentityPoolName: string;
  AllowUnauthenticatedIdentities: boolean;
  AllowClassicFlow?: boolean;
  SupportedLoginProviders?: Record<string, string>;
  DeveloperProviderName?: string;
  OpenIdConnectProviderARNs?: string[];
  CognitoIdentityProviders?: CognitoIdentityProviderWire[];
  SamlProviderARNs?: string[];
  IdentityPoolTags?: Record<string, string>;
}

/** The wire `IdentityPool` structure (also UpdateIdentityPool's input). */
export interface IdentityPoolWire extends IdentityPoolSettingsWire {
  IdentityPoolId: string;
}

/** What CreateIdentityPool, DescribeIdentityPool and UpdateIdentityPool answer. */
export interface IdentityPoolDescription {
  IdentityPoolId: string;
  IdentityPoolName: string;
  AllowUnauthenticatedIdentities: boolean;
  AllowClassicFlow: boolean;
  SupportedLoginProviders?: Record<string, string>;
  DeveloperProviderName?: string;
  OpenIdConnectProviderARNs?: string[];
  CognitoIdentityProviders?: Required<CognitoIdentityProviderWire>[];
  SamlProviderARNs?: string[];
  IdentityPoolTags?: Record<string, string>;
}

/**
 * Storage row → wire. The two booleans are always sent (AWS answers `AllowClassicFlow: false` for a pool
 * created without it); optional lists, maps and the developer provider name are omitted when empty/absent.
 */
export function poolDescription(pool: IdentityPool): IdentityPoolDescription {
  return {
    IdentityPoolId: pool.identityPoolId,
    IdentityPoolName: pool.identityPoolName,
    AllowUnauthenticatedIdentities: pool.allowUnauthenticatedIdentities,
    AllowClassicFlow: pool.allowClassicFlow,
    ...nonEmptyMap('SupportedLoginProviders', pool.supportedLoginProviders),
    ...(pool.developerProviderName === null ? {} : { DeveloperProviderName: pool.developerProviderName }),
    ...nonEmptyList('OpenIdConnectProviderARNs', pool.openIdConnectProviderArns),
    ...nonEmptyList('CognitoIdentityProviders', pool.cognitoIdentityProviders.map((p) => ({
      ProviderName: p.providerName,
      ClientId: p.clientId,
      ServerSideTokenCheck: p.serverSideTokenCheck,
    }))),
    ...nonEmptyList('SamlProviderARNs', pool.samlProviderArns),
    ...nonEmptyMap('IdentityPoolTags', pool.tags),
  };
}

function nonEmptyMap<K extends string>(key: K, map: Readonly<Record<string, string>>): { [P in K]?: Record<string, string> } {
  return Object.keys(map).length > 0 ? ({ [key]: { ...map } } as { [P in K]: Record<string, string> }) : {};
}

function nonEmptyList<K extends string, T>(key: K, list: readonly T[]): { [P in K]?: T[] } {
  return list.length > 0 ? ({ [key]: [...list] } as { [P in K]: T[] }) : {};
}

/**
 * Wire settings → storage row. Absent optional members become false / empty / null; roles and role mappings
 * (set only by SetIdentityPoolRoles) and principal tag attribute maps (SetPrincipalTagAttributeMap) start empty.
 * Shapes and constraints were checked against the model before the handler ran; what the model leaves open (the
 * 50-tag cap, complete user pool entries) is checked here.
 */
export function poolFromSettings(
  identityPoolId: string, settings: IdentityPoolSettingsWire, createdAt: number,
): IdentityPool {
  const tags = { ...settings.IdentityPoolTags };
  checkTagCount(tags);
  const pool: IdentityPool = {
    identityPoolId,
    identityPoolName: settings.IdentityPoolName,
    allowUnauthenticatedIdentities: settings.AllowUnauthenticatedIdentities,
    allowClassicFlow: settings.AllowClassicFlow ?? false,
    supportedLoginProviders: { ...settings.SupportedLoginProviders },
    developerProviderName: settings.DeveloperProviderName ?? null,
    openIdConnectProviderArns: unique(settings.OpenIdConnectProviderARNs ?? []),
    cognitoIdentityProviders: (settings.CognitoIdentityProviders ?? []).map(cognitoProvider),
    samlProviderArns: unique(settings.SamlProviderARNs ?? []),
    tags,
    roles: {},
    roleMappings: {},
    principalTagMaps: {},
    createdAt,
  };
  checkDeveloperProviderName(pool);
  return pool;
}

/**
 * A developer provider name must be a name of its own. Logins are keyed by provider name: one the pool also accepts
 * tokens of (or Cosync's own tokens' provider) would lock that provider's users out of GetId and make a developer
 * user ID and that provider's subject of the same text one user.
 */
function checkDeveloperProviderName(pool: IdentityPool): void {
  const name = pool.developerProviderName;
  if (name !== null && (name === COGNITO_IDENTITY_PROVIDER || providerNames(pool).has(name))) {
    throw errors.invalidParameter(
      `DeveloperProviderName '${name}' is also a login provider of this identity pool; give developer users a ` +
        'provider name of their own (e.g. login.<yourapp>).',
    );
  }
}

/**
 * The provider names a pool uses, as they appear in `Logins`: SupportedLoginProviders keys, the names of its OIDC
 * provider ARNs (`…:oidc-provider/<name>`), its Cognito user pool provider names and its SAML provider ARNs. The
 * developer provider is not one: developer identities get their principal tags from
 * GetOpenIdTokenForDeveloperIdentity.
 */
export function providerNames(pool: IdentityPool): Set<string> {
  return new Set([
    ...Object.keys(pool.supportedLoginProviders),
    ...pool.openIdConnectProviderArns.map(oidcProviderName).filter((name): name is string => name !== null),
    ...pool.cognitoIdentityProviders.map((p) => p.providerName),
    ...pool.samlProviderArns,
  ]);
}

/**
 * The model makes every member of CognitoIdentityProvider optional, but a user pool entry without its provider
 * name or client ID cannot mean anything, so it is refused rather than stored half-empty.
 */
function cognitoProvider(p: CognitoIdentityProviderWire, index: number): CognitoIdentityProvider {
  if (p.ProviderName === undefined || p.ClientId === undefined) {
    throw errors.invalidParameter(
      `CognitoIdentityProviders entry ${index + 1} must have both ProviderName and ClientId.`,
    );
  }
  return { providerName: p.ProviderName, clientId: p.ClientId, serverSideTokenCheck: p.ServerSideTokenCheck ?? false };
}

/** ARN lists are sets: a repeated ARN is kept once, first occurrence first. */
function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}
