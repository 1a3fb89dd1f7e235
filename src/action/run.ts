// The Action's entry (bundled to dist/main.js): one error path, core.setFailed. No logic here.
import * as core from '@actions/core';
import { actionMain } from './main.ts';

try {
  await actionMain();
} catch (error) {
  core.setFailed(error instanceof Error ? error.message : String(error));
}
