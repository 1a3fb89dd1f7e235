// Moved to src/report/findings.ts (rendering lives in src/report); kept for importers until #14's branches merge.
export * from '../report/findings.ts';
