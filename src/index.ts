/** The package's public API: the daemon client for scripts. */
export { GritClient, type ClientOptions, type RequestTarget, type WriteData, type IssueSummaryData } from './protocol/client.js';
export { GritError, type ErrorCode } from './core/errors.js';
