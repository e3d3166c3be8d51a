import { startOidcIssuer, type OidcIssuer } from './oidc-issuer.js';
import { startServer, TEST_CREDENTIALS, type TestServer, type TestServerOptions } from './server.js';

/** The IAM OIDC provider ARN by which a pool of the test account lists the login provider `name`. */
export const oidcProviderArn = (name: string) => `arn:aws:iam::${TEST_CREDENTIALS.accountId}:oidc-provider/${name}`;

export interface LoginServer {
  /** Mints the tokens the server accepts. */
  readonly idp: OidcIssuer;
  readonly t: TestServer;
  /** Stops the server, then the issuer. */
  close(): Promise<void>;
}

/**
 * A loopback OpenID issuer and a server that accepts its tokens for `audience` under each of the provider names in
 * `providers` (config.loginProviders), with `config`'s other settings. Pools still have to list a provider
 * (oidcProviderArn) for its logins to work.
 */
export async function startLoginServer(
  providers: readonly string[], audience: string, config: TestServerOptions['config'] = {},
): Promise<LoginServer> {
  const idp = await startOidcIssuer();
  const loginProviders = Object.fromEntries(providers.map((name) => [name, { issuer: idp.issuer, audiences: [audience] }]));
  let t: TestServer;
  try {
    t = await startServer({ config: { ...config, loginProviders } });
  } catch (err) {
    await idp.close();
    throw err;
  }
  return {
    idp,
    t,
    close: async () => {
      await t.close();
      await idp.close();
    },
  };
}
