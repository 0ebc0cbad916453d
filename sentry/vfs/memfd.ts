// memfd_create(2): anonymous tmpfs files. Each lives in one internal tmpfs
// under a dead name, so /proc/self/fd shows "/memfd:NAME (deleted)" as Linux
// does, and its data is in the memory file like any tmpfs file.
import type { Task } from '../kernel/task';
import { Dentry, Mount } from './dentry';
import type { FileDescription } from './file';
import { O_LARGEFILE, O_RDWR, S_IFREG } from './linuxconst';
import { F_SEAL_EXEC, MemFS, MemInode } from './memfs';

const memfdFS = new MemFS();
// Linux's internal shm mount has no size limit: memfds are bounded by memory alone.
memfdFS.sizeLimited = false;
const memfdRoot = new Dentry('', null, memfdFS.newDir(0o1777, { uid: 0, gid: 0 }));
const memfdMount = new Mount(memfdRoot, null, null, 'tmpfs', 'rw');

/** A new memfd open for reading and writing; sealing: MFD_ALLOW_SEALING; noexec: MFD_NOEXEC_SEAL (mode 0666, F_SEAL_EXEC). */
export function newMemfd(t: Task, name: string, sealing: boolean, noexec: boolean): FileDescription | number {
  const inode = new MemInode(memfdFS, S_IFREG | (noexec ? 0o666 : 0o777), { uid: t.creds.euid, gid: t.creds.egid });
  if (sealing) inode.seals = noexec ? F_SEAL_EXEC : 0;
  const d = new Dentry(`memfd:${name}`, memfdRoot, inode);
  d.dead = true;
  return inode.open(t, O_RDWR | O_LARGEFILE, { mnt: memfdMount, d });
}
