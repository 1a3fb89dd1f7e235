export type * from '../contracts/queue.ts';
