// Test support, published as `@heart/telemetry/testing`: not for production code.
export { startPrometheus, freeLoopbackPort } from './prometheus-server.js'
export type { PrometheusServer, PrometheusServerOptions, PrometheusSample } from './prometheus-server.js'
export { startOtlpReceiver, decodeAttributes, decodeAnyValue } from './otlp-receiver.js'
export type { OtlpReceiver, ReceivedSpan, OtlpJson } from './otlp-receiver.js'
export { sleep, waitFor } from './wait.js'
