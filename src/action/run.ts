// The Action's entry (bundled to dist/main.js). No logic here: main.ts has it, and its one error
// path. @github/local-action runs main.ts's run() from source the same way.
import { run } from './main.ts';

await run();
