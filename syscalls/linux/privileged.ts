// Operations that need a capability the sandbox never grants its workload,
// whatever its uid: CAP_SYS_ADMIN (mounts, namespaces), CAP_SYS_MODULE,
// CAP_SYS_RAWIO, CAP_SYS_BOOT, CAP_SYS_PACCT, CAP_DAC_READ_SEARCH (file
// handles). Linux refuses them with EPERM in a container that lacks those
// capabilities (the default for docker and gVisor), and so does the Sentry:
// this is the sandbox's policy, not a missing implementation.
import { SYS } from '../../src/abi/sysno';
import { EINVAL, EPERM, ENOSYS } from '../../src/abi/errno';
import type { SyscallRow } from '../types';

const DENIED = 'Always EPERM: the sandbox never grants the capability it needs (docs/security.md).';

const CLONE_FS = 0x200;
const CLONE_FILES = 0x400;
const CLONE_SYSVSEM = 0x40000;
const CLONE_NEWNS = 0x20000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NEWTIME = 0x80;
const NAMESPACES = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME;

/** unshare: no nested namespaces (EPERM); unsharing the fs or fd table is not implemented yet. */
function unshare(flags: number): number {
  if (flags & ~(NAMESPACES | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | 0x100 /* VM */ | 0x800 /* SIGHAND */ | 0x10000 /* THREAD */)) return -EINVAL;
  if (flags & NAMESPACES) return -EPERM;
  return flags === 0 ? 0 : -ENOSYS;
}

const denied = (nr: number, name: string): SyscallRow => ({ nr, name, handler: () => -EPERM, args: [], support: 'partial', note: DENIED });

export const privilegedRows: SyscallRow[] = [
  ...([
    ['mount', SYS.mount], ['umount2', SYS.umount2], ['pivot_root', SYS.pivot_root], ['setns', SYS.setns],
    ['swapon', SYS.swapon], ['swapoff', SYS.swapoff], ['reboot', SYS.reboot], ['acct', SYS.acct],
    ['iopl', SYS.iopl], ['ioperm', SYS.ioperm],
    ['init_module', SYS.init_module], ['finit_module', SYS.finit_module], ['delete_module', SYS.delete_module],
    ['kexec_load', SYS.kexec_load], ['kexec_file_load', SYS.kexec_file_load], ['open_by_handle_at', SYS.open_by_handle_at],
  ] as const).map(([name, nr]) => denied(nr, name)),
  {
    nr: SYS.unshare, name: 'unshare', handler: (_t, a) => unshare(a.int(0)), args: ['hex'], support: 'partial',
    note: 'New namespaces are EPERM (the sandbox does not nest them); unsharing the fs or fd table returns ENOSYS; no flags is a no-op.',
  },
];
