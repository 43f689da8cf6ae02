import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController, type onRouteHookHandler } from 'fastify';
import type { Logger } from 'pino';
import { type AdminRouteDependencies, adminRoutes } from './admin/admin-routes.js';
import type { ResultLinks } from '../blobs/result-links.js';
import type { DashboardReads } from '../services/dashboard-reads.js';
import { dashboardApiRoutes } from './dashboard/dashboard-api-routes.js';
import { dashboardPages } from './dashboard/dashboard-pages.js';
import { docsRoutes } from './docs/docs-routes.js';
import { type FileRouteDependencies, fileRoutes } from './files/file-routes.js';
import type { ProviderHookService } from '../services/provider-hook-service.js';
import { providerHookRoutes } from './hooks/provider-hook-routes.js';
import { type MetricsRouteDependencies, metricsRoutes } from './ops/metrics-routes.js';
import { type OpenAiRouteDependencies, openAiRoutes } from './openai/openai-routes.js';
import { opsRoutes, type ReadinessCheck } from './ops/ops-routes.js';
import { registerOpenApi } from './openapi.js';
import { requestLoggerFactory } from './request-logger.js';
import { serializerCompiler, validatorCompiler } from './schema-compilers.js';
import { type UniversalRouteDependencies, universalRoutes } from './universal/universal-routes.js';
import { type VeoRouteDependencies, veoRoutes } from './veo/veo-routes.js';

export interface HttpDependencies {
  readonly logger: Logger;
  readonly veo: VeoRouteDependencies;
  readonly universal: UniversalRouteDependencies;
  readonly openai: OpenAiRouteDependencies;
  /** Absent without SEGUE_ADMIN_KEY: then there is no admin API. */
  readonly admin: AdminRouteDependencies | undefined;
  readonly files: FileRouteDependencies;
  readonly readiness: readonly ReadinessCheck[];
  /** What `/readyz` reports about each provider entry (breakers, limits), as the database holds it. */
  readonly providerReport: () => Promise<Record<string, unknown>>;
  readonly providerHooks: ProviderHookService;
  /** PEM certificate and key: the app serves HTTPS (HTTP/1.1) instead of HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** `GET /metrics` (behind SEGUE_ADMIN_KEY when it is set). */
  readonly metrics: MetricsRouteDependencies;
  /** The dashboard's reads, the links it plays media from, and where those point (for its CSP). */
  readonly dashboard: { readonly reads: DashboardReads; readonly links: ResultLinks; readonly mediaOrigin: () => Promise<string> };
}

/** What a caller may watch while the app is built (the OpenAPI test lists every route with it). */
export interface HttpAppOptions {
  readonly onRoute?: onRouteHookHandler;
}

/** The HTTP face of Segue: each dialect is an encapsulated plugin with its own error mapping. */
export async function buildHttpApp(deps: HttpDependencies, options: HttpAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // HTTP/1.1 only: HTTP/2 drops the `connection: close` with which auth refuses an unread body.
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key } } : {}),
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request lines would dominate the logs of polling clients; routes log what matters.
    logController: new LogController({ disableRequestLogging: true }),
    // A request's logger (with its request id) is made only when the request writes a line.
    childLoggerFactory: requestLoggerFactory,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    trustProxy: false,
    genReqId: () => randomUUID(),
  });
  // Every route declares zod schemas: validated by zod, answered through fast-json-stringify,
  // and documented (see `openApiDocument`). Each scope words its own validation failures.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  await registerOpenApi(app);
  await app.register(async (scope) => veoRoutes(scope, deps.veo), { prefix: '/api/v1' });
  await app.register(async (scope) => universalRoutes(scope, deps.universal), { prefix: '/v2' });
  await app.register(async (scope) => openAiRoutes(scope, deps.openai), { prefix: '/v1' });
  if (deps.admin) {
    const admin = deps.admin;
    await app.register(async (scope) => adminRoutes(scope, admin), { prefix: '/admin' });
  }
  await app.register(async (scope) => fileRoutes(scope, deps.files));
  await app.register(async (scope) => providerHookRoutes(scope, deps.providerHooks));
  await app.register(async (scope) => opsRoutes(scope, deps.readiness, deps.providerReport));
  await app.register(async (scope) => metricsRoutes(scope, deps.metrics));
  await app.register(async (scope) => docsRoutes(scope));
  await app.register(async (scope) => dashboardPages(scope, deps.dashboard.mediaOrigin));
  const { reads, links } = deps.dashboard;
  const dashboardApi = { reads, links, keys: deps.veo.keys, readLimit: deps.veo.reads, adminKey: deps.admin?.adminKey };
  await app.register(async (scope) => dashboardApiRoutes(scope, dashboardApi), { prefix: '/dashboard/api' });
  return app;
}
