/** The flagship's independent computation, shared with the soak: bench/lib/pipeline-oracle.ts. */
export * from '../../bench/lib/pipeline-oracle.js';
