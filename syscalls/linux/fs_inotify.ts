// inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch over
// sentry/vfs/inotify.ts.
import { EACCES, EBADF, EINVAL, ENOTDIR } from '../../src/abi/errno';
import { SYS } from '../../src/abi/sysno';
import type { Task } from '../../sentry/kernel/task';
import {
  IN_ALL_EVENTS, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_MASK_ADD, IN_MASK_CREATE, IN_ONESHOT, IN_ONLYDIR, InotifyFD,
} from '../../sentry/vfs/inotify';
import { AT_FDCWD, O_CLOEXEC, O_NONBLOCK } from '../../sentry/vfs/linuxconst';
import { fsSubject, MAY_READ, permits } from '../../sentry/vfs/perm';
import type { SyscallArgs, SyscallRow, SysResult } from '../types';
import { readPathArg } from './fs_pathutil';
import { fileOf } from './fs_util';

function init(t: Task, flags: number): SysResult {
  if (flags & ~(O_NONBLOCK | O_CLOEXEC)) return -EINVAL;
  const f = new InotifyFD((flags & O_NONBLOCK) !== 0);
  const fd = t.fds.install(f, (flags & O_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

function addWatch(t: Task, a: SyscallArgs): SysResult {
  const f = fileOf(t, a.int(0));
  if (!f) return -EBADF;
  if (!(f instanceof InotifyFD)) return -EINVAL;
  const mask = a.uint(2);
  if (!(mask & IN_ALL_EVENTS)) return -EINVAL;
  if (mask & IN_MASK_ADD && mask & IN_MASK_CREATE) return -EINVAL;
  const path = readPathArg(t, a.u64(1), false);
  if (typeof path === 'number') return path;
  const loc = t.kernel.vfs.resolveAt(t, AT_FDCWD, path, (mask & IN_DONT_FOLLOW) === 0, false);
  if (typeof loc === 'number') return loc;
  const inode = loc.d.inode;
  if (mask & IN_ONLYDIR && !inode.isDir) return -ENOTDIR;
  const st = inode.stat();
  if (!permits(fsSubject(t), st.mode, st.uid, st.gid, MAY_READ)) return -EACCES;
  return f.addWatch(inode, mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK | IN_MASK_ADD | IN_MASK_CREATE));
}

function rmWatch(t: Task, a: SyscallArgs): SysResult {
  const f = fileOf(t, a.int(0));
  if (!f) return -EBADF;
  if (!(f instanceof InotifyFD)) return -EINVAL;
  return f.rmWatch(a.int(1));
}

const NOTE = 'Events for changes made inside the sandbox (not for changes the host makes to files the Gofer serves).';

export const inotifyRows: SyscallRow[] = [
  { nr: SYS.inotify_init, name: 'inotify_init', handler: (t) => init(t, 0), args: [], support: 'partial', note: NOTE },
  { nr: SYS.inotify_init1, name: 'inotify_init1', handler: (t, a) => init(t, a.int(0)), args: ['oflags'], support: 'partial', note: NOTE },
  { nr: SYS.inotify_add_watch, name: 'inotify_add_watch', handler: addWatch, args: ['fd', 'path', 'hex'], support: 'partial', note: NOTE },
  { nr: SYS.inotify_rm_watch, name: 'inotify_rm_watch', handler: rmWatch, args: ['fd', 'int'], support: 'full' },
];
