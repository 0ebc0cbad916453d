// The file syscalls' rows, gathered from the fs_*.ts files.
import type { SyscallRow } from '../types';
import { extraRows } from './fs_extra';
import { pathRows } from './fs_path';
import { rwRows } from './fs_rw';
import { statRows } from './fs_stat';
import { memfdRows } from './fs_memfd';
import { xattrRows } from './fs_xattr';
import { inotifyRows } from './fs_inotify';
import { spliceRows } from './fs_splice';

export const fsRows: SyscallRow[] = [...rwRows, ...statRows, ...pathRows, ...extraRows, ...xattrRows, ...memfdRows, ...inotifyRows, ...spliceRows];
