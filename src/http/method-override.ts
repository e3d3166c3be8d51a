import type { FastifyRouterOptions, RawServerDefault } from 'fastify';

/**
 * `X-HTTP-Method-Override` (SPEC §1): the AWS SDK for Unity 1.0.x sends every Cognito Sync call as POST, names the
 * operation's real method in this header (with a `{}` body for GET), and signs the request with the real method.
 * Routes registered with the constraint `{ methodOverride: 'GET' }` (for instance) answer such a POST; one without
 * the header, or naming a method no route is registered for, goes to the plain POST route as before.
 */
export const METHOD_OVERRIDE_CONSTRAINT = 'methodOverride';

type ConstraintStrategy = NonNullable<FastifyRouterOptions<RawServerDefault>['constraints']>[string];
type Handler = NonNullable<ReturnType<ReturnType<ConstraintStrategy['storage']>['get']>>;

export const methodOverrideStrategy: ConstraintStrategy = {
  name: METHOD_OVERRIDE_CONSTRAINT,
  storage() {
    const handlers = new Map<string, Handler>();
    return {
      get: (method: string) => handlers.get(method) ?? null,
      set: (method: string, handler: Handler) => { handlers.set(method, handler); },
    };
  },
  validate(value: unknown) {
    if (typeof value !== 'string') throw new TypeError('methodOverride is an HTTP method name');
  },
  deriveConstraint(req) {
    const value = req.headers['x-http-method-override'];
    // Undefined (no header) derives nothing, and the request goes to the unconstrained routes: find-my-way's
    // behaviour, which its typings (a string, always) leave out.
    return (typeof value === 'string' ? value.trim().toUpperCase() : undefined) as string;
  },
  mustMatchWhenDerived: false,
};
