/** Applies MILLRACE_HEAP_GROWING_PERCENT (default 50); returns an error message if it is invalid. */
export function applyHeapGrowing(env?: NodeJS.ProcessEnv): string | undefined;
