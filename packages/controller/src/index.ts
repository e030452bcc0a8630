export type { Metrics } from './http/metrics.js';
export { createMetrics } from './http/metrics.js';
export type { LogLevel } from './log/logger.js';
export { createLogger } from './log/logger.js';
