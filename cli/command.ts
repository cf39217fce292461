/** One `millrace` sub-command. `run` returns the exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
  help(): number;
}
