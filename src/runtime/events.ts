export type * from '../contracts/events.ts';
