// What `npm run build` writes next to the bundles: the launcher and, for
// bin/runsc's shell fast path, the Sentry's launcher arguments.
import { launcherArgs } from './confine';

export { launcherElf } from './launcher';

/** Shell assignments: the launcher's FLAGS KEEP OPTS for each --network and --rootless combination (maps added by bin/runsc). */
export function launcherEnv(): string {
  const lines: string[] = [];
  for (const network of ['none', 'host']) {
    for (const rootless of [false, true]) {
      const [flags, keep, opts] = launcherArgs({ network, rootless }, 0, 0);
      lines.push(`launch_${network}_${rootless ? 'rootless' : 'root'}='${flags} ${keep} ${opts}'`);
    }
  }
  return `${lines.join('\n')}\n`;
}
