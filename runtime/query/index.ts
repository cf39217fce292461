/** Interactive queries: the service every instance runs, and the client. */
export {
  QueryClient,
  QueryFailedError,
  type QueryClientOptions,
  type ScanOptions,
  type WindowOptions,
} from './client.js';
export {
  QueryService,
  FORWARDED_HEADER,
  type QueryRequest,
  type QueryResponse,
} from './service.js';
export { queryService, queryContextFor } from './app-queries.js';
export { partitionForKey, murmur2 } from './partitioner.js';
export type * from './types.js';
export { serveQueries, answerHttp, advertisedEndpoint, type QueryServer } from './http.js';
