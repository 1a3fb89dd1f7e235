// What a CLI command reads and writes: its streams, its environment and its stop signal.

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where a generated workflow's approval is read from; only asked when it is a terminal. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: stops the run, which stays resumable. */
  signal?: AbortSignal;
}
