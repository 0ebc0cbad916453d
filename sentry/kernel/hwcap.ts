// The CPU features the workload is told about (AT_HWCAP, AT_HWCAP2). The
// workload runs on the host CPU, so these are the host's own.
import { getauxval } from '../../src/ffi/libc';

const AT_HWCAP = 16;
const AT_HWCAP2 = 26;
let cached: { hwcap: number; hwcap2: number } | null = null;

export function getHwcaps(): { hwcap: number; hwcap2: number } {
  return (cached ??= { hwcap: getauxval(AT_HWCAP), hwcap2: getauxval(AT_HWCAP2) });
}
