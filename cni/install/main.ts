#!/usr/bin/env node
// pillion-cni-install: the node agent (the pillion-cni-node DaemonSet's entry point) and its
// uninstall; `pillion cni install|uninstall` runs the same parser and runner (cli.ts, where the
// flags and exit codes are). docs/cni.md, "Installer".
import { runCni } from './cli.js';

process.exitCode = await runCni(process.argv.slice(2), 'pillion-cni-install');
