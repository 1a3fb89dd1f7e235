// When a run asked for on GitHub shows its plan first and waits for `/workflow approve`.
import { CONFIG_DEFAULTS, type ForemanConfig } from '../config/schema.ts';

/** By the config's `approval`: every run (`always`), a script the model wrote (`generated`, the default), or none (`never`). */
export function planFirst(config: ForemanConfig, script: { origin: string }): boolean {
  const approval = config.approval ?? CONFIG_DEFAULTS.approval;
  return approval === 'always' || (approval === 'generated' && script.origin === 'generated');
}
