export * from '../contracts/usage.ts';
export type * from '../contracts/ports.ts';
