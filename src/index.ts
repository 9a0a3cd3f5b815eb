/**
 * The public API of `tokenpak`.
 */
export * from './errors.ts';
export type * from './canonical/types.ts';
export { collectStream, lastUserText, StreamAccumulator, textOf } from './canonical/types.ts';
export type * from './config/schema.ts';
export { defineConfig, loadConfig, parseConfig, type Config, type LoadOptions, type ResolvedRoute, type RouteTarget } from './config/load.ts';
export { checkConfig, type ConfigCheck, type ConfigFinding, type DeployEnv } from './config/check.ts';
export type * from './providers/types.ts';
export { createMockProvider, type MockCall, type MockFailure, type MockProvider, type MockRuntimeSettings } from './providers/mock/mock-provider.ts';
export type { MockAnswer, MockAnswers, MockRuleInput } from './providers/mock/answers.ts';
export { createProvider, createProviders, withCustomProviders, type ProviderFactory } from './providers/registry.ts';
export { createRouter, type RouteContext, type Router } from './router/router.ts';
export type * from './router/observer.ts';
export type { RouteOutcome, RoutedResponse, RoutedStream } from './canonical/outcome.ts';
export type * from './logs/types.ts';
export { createMemoryCallLog, type MemoryCallLog, type MemoryCallLogOptions } from './logs/memory-store.ts';
export { createCallLogStore, type CreateStoreOptions, type LogsSettings, type StoreKind } from './logs/create-store.ts';
export { costCents, createPricer, type ModelPrice, type PriceTable, type Pricer } from './pricing/pricing.ts';
export { encodeSSE, parseSSE, type ParsedSSE, type SSEMessage } from './formats/sse.ts';
export { createApp, type App } from './server/app.ts';
export { startProxy, type ProxyOptions, type ReloadResult, type TokenPakProxy } from './server/proxy.ts';
export type { Readiness } from './server/app.ts';
