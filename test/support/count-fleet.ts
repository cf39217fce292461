/** The count app as processes, its feeder and verdict, shared with the soak: bench/lib/count-fleet.ts. */
export * from '../../bench/lib/count-fleet.js';
