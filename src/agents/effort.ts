// agent({ effort }) as the Messages API takes it: `output_config.effort`, on the models that accept
// it. A model that does not (Haiku, older models, an id Foreman does not recognise) would refuse
// the request, so the effort is left out there instead, and the run says so once.

import { EFFORT_LEVELS } from '../runtime/script-api-args.ts';

export type EffortLevel = (typeof EFFORT_LEVELS)[number];

const LOW_TO_HIGH: readonly EffortLevel[] = ['low', 'medium', 'high'];

/**
 * The levels `model` accepts, from Anthropic's effort documentation: Opus 4.5 takes low to high;
 * Opus 4.6 and Sonnet 4.6 add max; Opus 4.7 and later, Mythos and the 5 generation (Haiku aside)
 * take all five. Haiku and older models take none.
 */
export function effortLevelsOf(model: string): readonly EffortLevel[] {
  const id = /^claude-(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d{1,2}))?(?:-\d{8})?$/.exec(model);
  if (!id) return model.startsWith('claude-mythos-') ? EFFORT_LEVELS : [];
  const [, family, major, minor] = id;
  if (family === 'haiku') return [];
  const version = Number(major) + Number(minor ?? 0) / 100;
  if (family === 'fable' || family === 'mythos' || version >= 5) return EFFORT_LEVELS;
  if (version >= 4.07) return family === 'opus' ? EFFORT_LEVELS : [...LOW_TO_HIGH, 'max'];
  if (version >= 4.06) return [...LOW_TO_HIGH, 'max'];
  if (version >= 4.05 && family === 'opus') return LOW_TO_HIGH;
  return [];
}

/** What the request carries for `effort` on `model`, and a warning when it had to change it. */
export function effortRequest(model: string, effort: string | undefined): { outputConfig?: { effort: EffortLevel }; warning?: { key: string; message: string } } {
  if (effort === undefined) return {};
  const levels = effortLevelsOf(model);
  if (levels.length === 0) {
    return { warning: { key: `effort:${model}`, message: `effort '${effort}' is not sent: ${model} does not take an effort level (Opus 4.5 and later, Sonnet 4.6 and later do); its agents run at the model's default effort` } };
  }
  if ((levels as readonly string[]).includes(effort)) return { outputConfig: { effort: effort as EffortLevel } };
  // A level above what the model takes becomes its highest: the closest the script asked for.
  const highest = levels[levels.length - 1];
  return {
    outputConfig: { effort: highest },
    warning: { key: `effort:${model}:${effort}`, message: `effort '${effort}' is sent as '${highest}': ${model} takes ${levels.join(', ')}` },
  };
}
