import type { FastifyInstance } from 'fastify';
import type { Services } from '../api/operation.js';
import { jwks } from '../auth/openid-tokens.js';

/**
 * OpenID Connect discovery for Cosync's own tokens (GetOpenIdToken, GetOpenIdTokenForDeveloperIdentity), so other
 * services can verify them like Cognito Identity's: the discovery document names the issuer and the JWKS, which
 * lists the public key of every server key (tokens signed before a key rotation keep verifying).
 */
export function registerOpenIdRoutes(app: FastifyInstance, services: Services): void {
  app.get('/.well-known/openid-configuration', async (_req, reply) => {
    const issuer = services.urls.issuer;
    reply.header('cache-control', 'public, max-age=300').type('application/json').send(JSON.stringify({
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      claims_supported: ['sub', 'aud', 'iss', 'exp', 'iat', 'amr'],
    }));
  });
  app.get('/.well-known/jwks.json', async (_req, reply) => {
    reply.header('cache-control', 'public, max-age=300').type('application/json').send(JSON.stringify(jwks(services.keys)));
  });
}
