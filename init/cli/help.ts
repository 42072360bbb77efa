// pillion-init's --help, rendered by commander from the same flags the parser reads. Loaded only
// when help is asked for: the commands themselves parse with init/flags.ts, and do not load
// commander (issue 11: loading it cost more than the parse).
import { Command, Option } from 'commander';

export interface HelpFlag {
  /** As commander shows it: `--x <value>`, `--x [bool]`, `--x`. */
  readonly display: string;
  readonly help: string;
}

/** The help text of `pillion-init NAME`: its flags in order, then `after`. */
export function renderHelp(name: string, flags: readonly HelpFlag[], after: string | undefined): string {
  let text = '';
  const cmd = new Command(`pillion-init ${name}`).configureOutput({
    writeOut: (s) => {
      text += s;
    },
    writeErr: () => undefined,
  });
  for (const flag of flags) cmd.addOption(new Option(flag.display, flag.help));
  if (after !== undefined) cmd.addHelpText('after', after);
  cmd.outputHelp();
  return text;
}
