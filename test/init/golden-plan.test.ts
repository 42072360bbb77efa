// Golden restore text for the rule-semantics cases (what --dry-run prints).
import { test } from 'node:test';
import { parseCaptureConfig } from '../../init/config.js';
import { planCaptureRules } from '../../init/plan/planner.js';
import { renderDryRun } from '../../init/plan/render.js';
import { assertGolden } from '../support/golden.js';

const cases: Record<string, string[]> = {
  defaults: [],
  'include-lists': ['--inbound-ports', '80,443,8000-8100', '--outbound-cidrs', '10.0.0.0/8,192.168.0.0/16,fd00::/8', '--outbound-ports', '80,443,9000-9100'],
  'include-ports-only': ['--outbound-ports', '80,443'],
  exclusions: ['--exclude-inbound-ports', '15021,15090,9000-9010', '--exclude-outbound-cidrs', '169.254.169.254/32,10.96.0.0/12,fd00:10:96::/112', '--exclude-outbound-ports', '3306,5432-5433'],
  'dual-stack': ['--ipv6', 'on', '--outbound-cidrs', '10.0.0.0/8,fd00::/8', '--exclude-outbound-cidrs', '10.1.0.0/16'],
  'dns-redirect': ['--redirect-dns', '--dns-port', '15053'],
  'gid-exemption': ['--proxy-uid', '1337', '--proxy-gid', '1338'],
  'excluded-interfaces': ['--exclude-interfaces', 'eth1,net1'],
  'ipv6-off': ['--ipv6', 'off'],
  'custom-ports': ['--proxy-uid', '101', '--outbound-port', '7001', '--inbound-port', '7006', '--inbound-ports', '22,8080'],
};

for (const [name, argv] of Object.entries(cases)) {
  test(`dry-run restore text: ${name}`, () => {
    const plan = planCaptureRules(parseCaptureConfig(argv, {}));
    assertGolden(`init/plan-${name}.txt`, `# pillion-init ${argv.join(' ')}\n${renderDryRun(plan)}`);
  });
}
