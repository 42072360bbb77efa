#!/usr/bin/env node
// Runs the compiled test suite with node's built-in test runner, on the Node running this script
// (package.json runs it on the pinned one: scripts/node.sh).
// Unit tests (dist/test) always; network-namespace and e2e tests (dist/e2e) unless --unit.
// Folders or files given instead run just those, e.g. `node scripts/run-tests.js dist/e2e/netns`;
// other --options go to `node --test` (e.g. --test-name-pattern=IPv6).
// Kept as a tiny script so the README's one test command works the same everywhere.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const args = process.argv.slice(2);
const options = args.filter((a) => a.startsWith('--') && a !== '--unit');
const given = args.filter((a) => !a.startsWith('--'));
const paths = given.length > 0 ? given : ['dist/test', ...(args.includes('--unit') ? [] : ['dist/e2e'])].filter((d) => existsSync(d));
// `node --test` reads its arguments as glob patterns and no longer searches a folder named there
// (Node 20 did): a folder's tests are its *.test.js files, at any depth.
const patterns = paths.map((p) => (existsSync(p) && statSync(p).isDirectory() ? `${p.replace(/\/+$/, '')}/**/*.test.js` : p));
// Many tests, unit ones too, name network namespaces (`ip netns add`); the first one on a host
// also makes /run/netns a mount point, which no `ip netns delete` undoes. The run puts it back as
// it found it.
const netnsDirModule = new URL('../dist/e2e/support/netns-dir.js', import.meta.url);
const netnsDir = existsSync(netnsDirModule) ? await import(netnsDirModule.href) : undefined;
const netnsDirBefore = netnsDir?.netnsDirState();
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-concurrency=1', ...options, ...patterns],
  { stdio: 'inherit' },
);
if (netnsDir !== undefined && netnsDirBefore !== undefined) netnsDir.restoreNetnsDir(netnsDirBefore);
process.exit(result.status ?? 1);
