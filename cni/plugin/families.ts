// Which families a captured pod gets: those of its addresses (the previous result), so a
// dual-stack pod gets both and an IPv4-only pod never needs a working ip6tables. --ipv6 off in
// the pod's settings removes IPv6; a pod left with nothing to capture is a settings error.
import type { CaptureConfig, IpFamily } from '../../init/index.js';
import { CniError, pluginCodes } from '../protocol/errors.js';
import { familiesOf } from '../protocol/result.js';

export function captureFamilies(config: CaptureConfig, prevResult: Readonly<Record<string, unknown>>): IpFamily[] {
  const present = familiesOf(prevResult);
  const families = config.ipv6 === 'off' ? present.filter((f) => f === 4) : present;
  if (families.length === 0) {
    throw new CniError(
      pluginCodes.invalidCaptureSettings,
      present.length === 0 ? 'the previous result lists no IP address to capture for' : 'the pod has only IPv6 addresses but its capture settings say --ipv6 off',
    );
  }
  return families;
}
