// The file syscalls' rows, gathered from the fs_*.ts files.
import type { SyscallRow } from '../types';
import { rwRows } from './fs_rw';

export const fsRows: SyscallRow[] = [...rwRows];
