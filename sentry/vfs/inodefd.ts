// The descriptions of inode-backed files: regular files (data through the
// inode's readAt/writeAt) and directories (getdents over a snapshot taken
// when reading starts at offset 0).
import { EFAULT, EFBIG, EINVAL, EISDIR, ENXIO } from '../../src/abi/errno';
import type { Task } from '../kernel/task';
import type { Location } from './dentry';
import { FileDescription, type MappableFile, type ReadResult, type Stat } from './file';
import type { DirEnt, Inode } from './inode';
import { DT_DIR, O_APPEND, SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET } from './linuxconst';
import { encodeDirent, direntSize } from './dirent';
import { displayPath } from './path';
import { fileEvent, IN_ACCESS, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_MODIFY } from './inotify';

/** The largest file offset we accept (2^53: offsets are JS numbers). */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

export class RegularFD extends FileDescription {
  constructor(readonly inode: Inode, flags: number, loc: Location) {
    super(flags, loc);
    inode.opened();
  }

  override get positional(): boolean { return true; }

  override read(t: Task, len: number, offset: number): ReadResult {
    const pos = offset < 0 ? this.offset : offset;
    const r = this.inode.readAt(pos, len);
    if (typeof r !== 'number' && offset < 0) this.offset = pos + r.length;
    if (typeof r !== 'number' && r.length > 0) fileEvent(this.loc?.d, IN_ACCESS);
    return r;
  }

  override readToUser(t: Task, addr: number, len: number, offset: number): number | null {
    if (len === 0 || !this.inode.hostData) return null;
    const views = t.mm.views(addr, len, true);
    const pos = offset < 0 ? this.offset : offset;
    const r = views ? this.inode.readInto(pos, views) : null;
    if (r === null) return views ? null : -EFAULT;
    if (r > 0 && offset < 0) this.offset = pos + r;
    if (r > 0) fileEvent(this.loc?.d, IN_ACCESS);
    return r;
  }

  override writeFromUser(t: Task, addr: number, len: number, offset: number): number | null {
    if (len === 0 || !this.inode.hostData) return null;
    const views = t.mm.views(addr, len, false);
    if (!views) return -EFAULT;
    // Linux appends even for pwrite on an O_APPEND file.
    const pos = (this.flags & O_APPEND) !== 0 ? this.inode.size() : offset < 0 ? this.offset : offset;
    if (pos + len > MAX_OFFSET) return -EFBIG;
    const r = this.inode.writeFrom(pos, views);
    if (r !== null && r > 0 && offset < 0) this.offset = pos + r;
    if (r !== null && r > 0) fileEvent(this.loc?.d, IN_MODIFY);
    return r;
  }

  /** Synchronous positional read for the ELF loader. */
  readAt(off: number, len: number): ReadResult {
    return this.inode.readAt(off, len);
  }

  override write(t: Task, data: Uint8Array, offset: number): number {
    // Linux appends even for pwrite on an O_APPEND file.
    const pos = (this.flags & O_APPEND) !== 0 ? this.inode.size() : offset < 0 ? this.offset : offset;
    if (pos + data.length > MAX_OFFSET) return -EFBIG;
    const r = this.inode.writeAt(pos, data);
    if (r >= 0 && offset < 0) this.offset = pos + r;
    if (r > 0) fileEvent(this.loc?.d, IN_MODIFY);
    return r;
  }

  override lseek(t: Task, off: number, whence: number): number {
    let pos: number;
    switch (whence) {
      case SEEK_SET: pos = off; break;
      case SEEK_CUR: pos = this.offset + off; break;
      case SEEK_END: pos = this.inode.size() + off; break;
      case SEEK_DATA: {
        if (off < 0) return -EINVAL;
        if (off >= this.inode.size()) return -ENXIO;
        pos = off;
        break;
      }
      case SEEK_HOLE: {
        if (off < 0) return -EINVAL;
        const size = this.inode.size();
        if (off >= size) return -ENXIO;
        pos = size;
        break;
      }
      default: return -EINVAL;
    }
    if (pos < 0 || !Number.isFinite(pos)) return -EINVAL;
    this.offset = pos;
    return pos;
  }

  override truncate(t: Task, size: number): number {
    const r = this.inode.truncate(size);
    if (r === 0) fileEvent(this.loc?.d, IN_MODIFY);
    return r;
  }

  protected override release(): void {
    fileEvent(this.loc?.d, this.writable ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
    this.inode.closed();
  }

  override stat(t: Task): Stat { return this.inode.stat(); }
  override fileType(t: Task): number { return this.inode.type; }
  override fsync(t: Task): number { return this.inode.fsync(); }
  override mappable(): MappableFile | null { return this.inode.mappable(); }
  override displayName(): string { return this.loc ? displayPath(this.loc) : 'anon_inode:[file]'; }
}

export class DirFD extends FileDescription {
  private entries: DirEnt[] | null = null;

  constructor(readonly inode: Inode, flags: number, loc: Location) {
    super(flags, loc);
  }

  override get positional(): boolean { return true; }
  override read(t: Task, len: number, offset: number): ReadResult { return -EISDIR; }
  override write(t: Task, data: Uint8Array, offset: number): number { return -EISDIR; }
  protected override release(): void { fileEvent(this.loc?.d, IN_CLOSE_NOWRITE); }
  override stat(t: Task): Stat { return this.inode.stat(); }
  override fileType(t: Task): number { return this.inode.type; }
  override fsync(t: Task): number { return this.inode.fsync(); }
  override displayName(): string { return this.loc ? displayPath(this.loc) : 'anon_inode:[dir]'; }

  private snapshot(t: Task): DirEnt[] | number {
    const list = this.inode.iterate(t);
    if (typeof list === 'number') return list;
    const parent = this.loc?.d.parent?.inode ?? (this.loc?.mnt.mountpoint?.parent?.inode) ?? this.inode;
    return [
      { name: '.', ino: this.inode.ino, type: DT_DIR },
      { name: '..', ino: parent.ino, type: DT_DIR },
      ...list,
    ];
  }

  override getdents(t: Task, maxBytes: number): Uint8Array | number {
    if (this.entries === null || this.offset === 0) {
      const s = this.snapshot(t);
      if (typeof s === 'number') return s;
      this.entries = s;
    }
    const parts: Uint8Array[] = [];
    let used = 0;
    let i = this.offset;
    for (; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      const size = direntSize(e.name);
      if (used + size > maxBytes) break;
      parts.push(encodeDirent(e.ino, i + 1, e.type, e.name));
      used += size;
    }
    if (parts.length === 0 && i < this.entries.length) return -EINVAL;
    this.offset = i;
    fileEvent(this.loc?.d, IN_ACCESS);
    const out = new Uint8Array(used);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  override lseek(t: Task, off: number, whence: number): number {
    let pos: number;
    if (whence === SEEK_SET) pos = off;
    else if (whence === SEEK_CUR) pos = this.offset + off;
    else return -EINVAL;
    if (pos < 0) return -EINVAL;
    this.offset = pos;
    if (pos === 0) this.entries = null;
    return pos;
  }
}
