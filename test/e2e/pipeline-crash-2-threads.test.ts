/**
 * test/e2e/pipeline-crash.test.ts again, each instance with two stream threads
 * (`millrace run --num-stream-threads 2`).
 */
process.env.MILLRACE_E2E_STREAM_THREADS = '2';
await import('./pipeline-crash.test.js');
delete process.env.MILLRACE_E2E_STREAM_THREADS;
