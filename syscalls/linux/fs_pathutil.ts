// Reading path arguments.
import { EFAULT, ENOENT } from '../../src/abi/errno';
import type { Task } from '../../sentry/kernel/task';

/**
 * Reads the path at addr: the string or -errno. With allowEmpty (AT_EMPTY_PATH)
 * an empty string is returned as '' instead of -ENOENT.
 */
export function readPathArg(t: Task, addr: number, allowEmpty: boolean): string | number {
  const p = t.readPath(addr);
  if (p === -ENOENT && allowEmpty) {
    const s = t.mm.readCString(addr, 1);
    if (s === null) return -EFAULT;
    if (s === '') return '';
  }
  return p;
}
