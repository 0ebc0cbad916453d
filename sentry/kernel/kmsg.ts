// The kernel log of the sandbox: what the Sentry tells the workload about
// itself (OOM kills), read with syslog(2) as dmesg does. Records keep Linux's
// syslog format, "<level>[seconds.micros] text", in a ring of LOG_BUF_LEN bytes.

/** The ring's size (SYSLOG_ACTION_SIZE_BUFFER), Linux's default CONFIG_LOG_BUF_SHIFT=17. */
export const LOG_BUF_LEN = 1 << 17;

export class KernelLog {
  private records: string[] = [];
  private bytes = 0;
  /** Bytes not yet consumed by SYSLOG_ACTION_READ. */
  private unread = 0;

  constructor(private readonly uptimeNs: () => bigint) {}

  /** Adds a record at a syslog level (0 emerg .. 7 debug). */
  append(level: number, text: string): void {
    const ns = this.uptimeNs();
    const secs = ns / 1_000_000_000n;
    const micros = (ns % 1_000_000_000n) / 1000n;
    const rec = `<${level}>[${String(secs).padStart(5)}.${String(micros).padStart(6, '0')}] ${text}\n`;
    this.records.push(rec);
    this.bytes += rec.length;
    this.unread += rec.length;
    while (this.bytes > LOG_BUF_LEN && this.records.length > 1) this.bytes -= this.records.shift()!.length;
    this.unread = Math.min(this.unread, this.bytes);
  }

  /** The newest len bytes of the log, whole records (SYSLOG_ACTION_READ_ALL). */
  tail(len: number): string {
    let out = '';
    for (let i = this.records.length - 1; i >= 0 && out.length + this.records[i]!.length <= len; i--) out = this.records[i]! + out;
    return out;
  }

  /** Bytes of records not yet read (SYSLOG_ACTION_SIZE_UNREAD). */
  unreadBytes(): number {
    return this.unread;
  }

  /** Forgets every record (SYSLOG_ACTION_CLEAR). */
  clear(): void {
    this.records = [];
    this.bytes = 0;
    this.unread = 0;
  }

  /** The ring's size (SYSLOG_ACTION_SIZE_BUFFER). */
  readonly capacity = LOG_BUF_LEN;

  /** Up to len bytes of the oldest unread records, whole ones, now read (SYSLOG_ACTION_READ). */
  takeUnread(len: number): string {
    let skip = this.bytes - this.unread;
    let out = '';
    for (const r of this.records) {
      if (skip >= r.length) { skip -= r.length; continue; }
      if (out.length + r.length > len) break;
      out += r;
    }
    this.unread -= out.length;
    return out;
  }
}
