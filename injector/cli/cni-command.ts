// `pillion cni install` and `pillion cni uninstall`: the CNI node agent (cni/install/cli.ts) from
// the pillion CLI. The flags are parsed by the agent's own parser (the one pillion-cni-install
// uses), so commander passes everything after the subcommand through untouched.
//
// The agent is loaded only when one of these runs, and by a computed URL: `pillion inject` and
// `pillion webhook` never load it, and the injector image, which is built without cni/, still
// compiles (there `pillion cni` says the agent is not in the image; it ships in pillion-cni).
import type { Command } from 'commander';

/** What injector/cli needs of cni/install/cli.ts (test/cni/install/cli.test.ts checks it matches). */
export interface CniCliModule {
  runCni(argv: readonly string[], entry: 'install' | 'uninstall'): Promise<number>;
}

export const cniCliUrl = new URL('../../cni/install/cli.js', import.meta.url);

async function loadCniCli(): Promise<CniCliModule | undefined> {
  try {
    return (await import(cniCliUrl.href)) as CniCliModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return undefined;
  }
}

const descriptions = {
  install: 'run the CNI node agent: install the plugin, keep its entry last in the runtime\'s configuration, repair early pods (runs until SIGTERM)',
  uninstall: 'remove the CNI plugin\'s entry, executable and files from a node (--host-root DIR for a node mounted elsewhere)',
} as const;

export function registerCniCommand(program: Command): void {
  const cni = program.command('cni').description('the chained CNI plugin\'s node agent (docs/cni.md)');
  for (const name of ['install', 'uninstall'] as const) {
    cni
      .command(name)
      .description(descriptions[name])
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[flags...]', 'the agent\'s flags (--help lists them)')
      .action(async (_flags: string[], _options: unknown, command: Command) => {
        const cli = await loadCniCli();
        if (cli === undefined) {
          process.stderr.write(`pillion cni ${name}: the CNI agent is not part of this build (it ships in the pillion-cni image, as pillion-cni-install)\n`);
          process.exitCode = 1;
          return;
        }
        process.exitCode = await cli.runCni(command.args, name);
      });
  }
}
