// The Action's inputs (action.yml), read and checked once against their schema
// (src/config/action-inputs.ts): a bad value fails the step with the input's name and what it takes.
import * as core from '@actions/core';
import { ArgsTextError } from '../contracts/script-args.ts';
import { commentArgs } from '../github/commands.ts';
import { ActionInputError, parseActionInputs, type ActionInputValues } from '../config/action-inputs.ts';

export { ActionInputError as InputError, type ProposeMode } from '../config/action-inputs.ts';

export type ActionInputs = Omit<ActionInputValues, 'args'> & { args: unknown };

export function readInputs(): ActionInputs {
  const inputs = parseActionInputs((name) => {
    const text = core.getInput(name);
    // Masked before anything is checked, so no later message or log can show the key.
    if (name === 'anthropic-api-key' && text) core.setSecret(text);
    return text;
  });
  return { ...inputs, args: inputArgs(inputs.args) };
}

/** The args input, by the one rule of every door: JSON that does not parse fails the step, naming where. */
function inputArgs(text: string): unknown {
  try {
    return commentArgs(text);
  } catch (error) {
    if (error instanceof ArgsTextError) throw new ActionInputError(error.explain('the args input'));
    throw error;
  }
}
