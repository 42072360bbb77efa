// The deployment carries the injector's configuration and the template values: the chart's
// values.yaml mirrors every key (and default) of templates/values.yaml, the ConfigMap in
// deploy/base carries the same values, and its config.yaml is accepted by the injector's own
// configuration parser with the injector namespace set right; deploy/cni's differs only by
// captureMode: cni, and the chart's CNI presets are the agent's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { presets } from '../../cni/install/presets.js';
import { parseInjectorConfig } from '../../injector/core/config.js';
import { repoPath } from '../support/paths.js';
import { findObject, injectorNamespace, parseManifests } from './support/manifests.js';

type Tree = { [key: string]: unknown };

const isMapping = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Dotted paths of every leaf (lists count as leaves: templates treat them as one value). */
function leafPaths(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) => (isMapping(value) ? leafPaths(value, `${prefix}${key}.`) : [`${prefix}${key}`]));
}

function readYaml(...parts: string[]): unknown {
  return parseYaml(readFileSync(repoPath(...parts), 'utf8'), { uniqueKeys: true });
}

const templateValues = readYaml('templates', 'values.yaml');

describe('template values and injector config in the deployment', () => {
  test('templates/values.yaml is a mapping with values', () => {
    assert.ok(isMapping(templateValues));
    assert.ok(leafPaths(templateValues).length > 0);
  });

  test("the chart's templateValues mirror every key and default of templates/values.yaml", () => {
    const chart = readYaml('charts', 'pillion', 'values.yaml');
    assert.ok(isMapping(chart) && isMapping(chart.templateValues), 'charts/pillion/values.yaml has templateValues');
    const missing = leafPaths(templateValues as Tree).filter((p) => !leafPaths(chart.templateValues as Tree).includes(p));
    assert.deepEqual(missing, [], 'keys of templates/values.yaml missing from the chart (copy them under templateValues)');
    assert.deepEqual(chart.templateValues, templateValues, 'chart defaults equal templates/values.yaml');
  });

  test("deploy/base's ConfigMap carries the same values and a config the injector accepts", () => {
    const objects = parseManifests(readFileSync(repoPath('deploy', 'base', 'configmap.yaml'), 'utf8'), 'deploy/base/configmap.yaml');
    const cm = findObject(objects, 'ConfigMap', 'pillion-injector-config') as unknown as { metadata: { namespace: string }; data: Record<string, string> };
    assert.equal(cm.metadata.namespace, injectorNamespace);
    assert.deepEqual(Object.keys(cm.data).sort(), ['config.yaml', 'values.yaml']);
    // The injector reads these files with the yaml library's defaults (YAML 1.2), as here.
    assert.deepEqual(parseYaml(cm.data['values.yaml'] as string), templateValues, 'ConfigMap values.yaml equals templates/values.yaml');
    const config = parseInjectorConfig(cm.data['config.yaml'] as string, 'deploy/base/configmap.yaml config.yaml');
    assert.equal(config.injectorNamespace, injectorNamespace, 'the injector knows its own namespace');
    assert.equal(config.defaultPolicy, 'disabled', 'nothing is injected unless it opts in');
  });

  test("deploy/cni's config is deploy/base's with captureMode: cni, and the injector accepts it", () => {
    const read = (variant: string, file: string): string => {
      const objects = parseManifests(readFileSync(repoPath('deploy', variant, file), 'utf8'), `deploy/${variant}/${file}`);
      return (findObject(objects, 'ConfigMap', 'pillion-injector-config') as unknown as { data: Record<string, string> }).data['config.yaml'] as string;
    };
    const base = parseYaml(read('base', 'configmap.yaml')) as Tree;
    const cni = read('cni', join('component', 'injector-cni-mode.yaml'));
    assert.deepEqual(parseYaml(cni), { ...base, captureMode: 'cni' });
    assert.equal(parseInjectorConfig(cni, 'deploy/cni/component/injector-cni-mode.yaml config.yaml').captureMode, 'cni');
  });

  test("the chart's cni.preset paths are the agent's presets", () => {
    const helpers = readFileSync(repoPath('charts', 'pillion', 'templates', '_helpers.tpl'), 'utf8');
    const chart = [...helpers.matchAll(/"(\w+)" \(dict "netDir" "([^"]+)" "binDir" "([^"]+)"\)/g)].map(([, name, netDir, binDir]) => [name, { netDir, binDir }]);
    assert.deepEqual(Object.fromEntries(chart), presets);
  });

  test('a typo in the ConfigMap config would be caught by the same parser', () => {
    // Guards the previous test: the parser really rejects unknown keys, so acceptance means something.
    assert.throws(() => parseInjectorConfig('defaultPolicy: disabled\ninjectorNamespce: x\n', 'typo.yaml'), /unknown key "injectorNamespce"/);
  });
});
