// The line discipline of a pseudo-terminal (Linux's n_tty): the termios
// state, and the two queues between master and replica. Bytes the master
// writes are input: translated (ICRNL, INLCR, IGNCR, ISTRIP), turned into
// signals (ISIG), edited into lines (ICANON: erase, kill, word erase, EOF)
// and echoed; the replica reads them. Bytes the replica writes are output,
// translated (OPOST: ONLCR, OCRNL, ONOCR, ONLRET, OLCUC) for the master.
// Echoes are output too and go through the same translation.
import {
  ECHO, ECHOCTL, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOPRT, ICANON, ICRNL, IEXTEN, IGNCR, INLCR, ISIG, ISTRIP,
  IUCLC, IXANY, IXON, NCCS, NOFLSH, OCRNL, OLCUC, ONLCR, ONLRET, ONOCR, OPOST, SIGINT, SIGQUIT, SIGTSTP,
  VEOF, VEOL, VEOL2, VERASE, VINTR, VKILL, VLNEXT, VMIN, VQUIT, VREPRINT, VSTART, VSTOP, VSUSP, VTIME, VWERASE,
  B38400, CS8, CREAD,
} from '../../../src/abi/linux';
import { Termios, Winsize } from '../../../src/abi/layout';
import { WaitQueue } from '../../kernel/waiter';
import { POLLIN, POLLOUT } from '../linuxconst';

export interface TermiosState {
  iflag: number; oflag: number; cflag: number; lflag: number; line: number;
  cc: Uint8Array;
}

export interface WinsizeState { row: number; col: number; xpixel: number; ypixel: number }

/** A replica's settings when its pty is created (Linux's tty_std_termios for pts). */
export function defaultTermios(): TermiosState {
  const cc = new Uint8Array(NCCS);
  cc.set([0x03, 0x1c, 0x7f, 0x15, 0x04, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0]);
  return {
    iflag: ICRNL | IXON,
    oflag: OPOST | ONLCR,
    cflag: B38400 | CS8 | CREAD,
    lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
    line: 0,
    cc,
  };
}

export function encodeTermios(s: TermiosState): Uint8Array {
  const b = Termios.encode({ c_iflag: s.iflag, c_oflag: s.oflag, c_cflag: s.cflag, c_lflag: s.lflag, c_line: s.line });
  b.set(s.cc, 17);
  return b;
}

export function decodeTermios(b: Uint8Array): TermiosState {
  const d = Termios.decode(b);
  return { iflag: d.c_iflag, oflag: d.c_oflag, cflag: d.c_cflag, lflag: d.c_lflag, line: d.c_line, cc: b.slice(17, 17 + NCCS) };
}

export function encodeWinsize(w: WinsizeState): Uint8Array {
  return Winsize.encode({ ws_row: w.row, ws_col: w.col, ws_xpixel: w.xpixel, ws_ypixel: w.ypixel });
}

export function decodeWinsize(b: Uint8Array): WinsizeState {
  const d = Winsize.decode(b);
  return { row: d.ws_row, col: d.ws_col, xpixel: d.ws_xpixel, ypixel: d.ws_ypixel };
}

/** Longest line canonical mode keeps (Linux's N_TTY_BUF_SIZE less one for the terminator). */
const MAX_CANON = 4095;
/** Input the replica has not read yet, beyond which the master's writes wait. */
const INPUT_CAPACITY = 65536;
/** Output the master has not read yet, beyond which the replica's writes wait. */
const OUTPUT_CAPACITY = 65536;

const NL = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const BS = 0x08;
const DEL = 0x7f;

const isCntrl = (c: number): boolean => c < 0x20 || c === DEL;
const isWordChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;

/** A line made readable (VEOF ends one without adding a byte, so a line may be empty: end of file). */
interface Line { bytes: number[] }

export class LineDiscipline {
  termios = defaultTermios();
  winsize: WinsizeState = { row: 0, col: 0, xpixel: 0, ypixel: 0 };
  /** Notified (with POLLIN/POLLOUT keys) whenever either queue changes. */
  readonly queue = new WaitQueue();
  /** Readable input: whole lines in canonical mode, one running chunk otherwise. */
  private input: Line[] = [];
  private inputBytes = 0;
  /** The line being edited (canonical mode). */
  private line: number[] = [];
  /** The next input byte is taken literally (VLNEXT). */
  private literalNext = false;
  /** Output the master has not read. */
  private output: number[] = [];
  /** Output stopped by VSTOP (IXON) or TCOOFF. */
  outputStopped = false;
  /** Output column, for erasing tabs and ONOCR. */
  private column = 0;

  constructor(private readonly signal: (sig: number) => void) {}

  private get canonical(): boolean { return (this.termios.lflag & ICANON) !== 0; }
  private cc(i: number): number { return this.termios.cc[i]!; }
  /** c is control character i, and that character is enabled (non-zero). */
  private is(c: number, i: number): boolean { return this.cc(i) !== 0 && c === this.cc(i); }

  // ---- state the files report ----

  /** Bytes the replica may read now (FIONREAD on the replica). */
  get readableBytes(): number { return this.inputBytes; }
  /** Whether a replica read would return now (data, or an EOF-terminated line). */
  get inputReady(): boolean { return this.input.length > 0 && (this.inputBytes > 0 || this.canonical); }
  get outputBytes(): number { return this.output.length; }
  get outputReady(): boolean { return this.output.length > 0 && !this.outputStopped; }
  get inputSpace(): boolean { return this.inputBytes + this.line.length < INPUT_CAPACITY; }
  get outputSpace(): boolean { return this.output.length < OUTPUT_CAPACITY; }

  setTermios(next: TermiosState): void {
    const wasCanonical = this.canonical;
    this.termios = next;
    if (wasCanonical && !this.canonical && this.line.length > 0) {
      // Leaving canonical mode makes the partial line readable.
      this.pushInput(this.line, false);
      this.line = [];
    }
    if (!(next.iflag & IXON) && this.outputStopped) this.outputStopped = false;
    this.queue.notify();
  }

  flushInput(): void {
    this.input = [];
    this.inputBytes = 0;
    this.line = [];
    this.queue.notify(POLLOUT);
  }

  flushOutput(): void {
    this.output = [];
    this.queue.notify(POLLOUT);
  }

  // ---- the replica's side ----

  /**
   * Takes up to len bytes of input: at most one line in canonical mode.
   * Returns null when nothing is ready.
   */
  readInput(len: number): Uint8Array | null {
    if (!this.inputReady) return null;
    const out: number[] = [];
    if (this.canonical) {
      const first = this.input[0]!;
      const n = Math.min(len, first.bytes.length);
      out.push(...first.bytes.splice(0, n));
      if (first.bytes.length === 0) this.input.shift();
    } else {
      while (out.length < len && this.input.length > 0) {
        const first = this.input[0]!;
        const n = Math.min(len - out.length, first.bytes.length);
        out.push(...first.bytes.splice(0, n));
        if (first.bytes.length === 0) this.input.shift();
      }
    }
    this.inputBytes -= out.length;
    this.queue.notify(POLLOUT);
    return Uint8Array.from(out);
  }

  /** Translates and queues the replica's output; returns how many bytes of data were taken. */
  writeOutput(data: Uint8Array): number {
    let n = 0;
    while (n < data.length && this.outputSpace) this.emit(data[n++]!);
    if (n > 0) this.queue.notify(POLLIN);
    return n;
  }

  // ---- the master's side ----

  readOutput(len: number): Uint8Array | null {
    if (!this.outputReady) return null;
    const out = Uint8Array.from(this.output.splice(0, len));
    this.queue.notify(POLLOUT);
    return out;
  }

  /** Feeds the master's bytes to the discipline; returns how many it took (0: input is full). */
  receive(data: Uint8Array): number {
    let n = 0;
    while (n < data.length && this.inputSpace) this.receiveByte(data[n++]!);
    if (n > 0) this.queue.notify(POLLIN | POLLOUT);
    return n;
  }

  private receiveByte(c: number): void {
    const { iflag, lflag } = this.termios;
    if (iflag & ISTRIP) c &= 0x7f;
    if (this.literalNext) {
      this.literalNext = false;
      this.addChar(c, true);
      return;
    }
    if (c === CR) {
      if (iflag & IGNCR) return;
      if (iflag & ICRNL) c = NL;
    } else if (c === NL && iflag & INLCR) {
      c = CR;
    }
    if (iflag & IUCLC && lflag & IEXTEN && c >= 0x41 && c <= 0x5a) c += 0x20;
    if (iflag & IXON) {
      if (this.is(c, VSTOP)) { this.outputStopped = true; return; }
      if (this.is(c, VSTART)) { this.startOutput(); return; }
      if (this.outputStopped && iflag & IXANY) this.startOutput();
    }
    if (lflag & ISIG) {
      const sig = this.is(c, VINTR) ? SIGINT : this.is(c, VQUIT) ? SIGQUIT : this.is(c, VSUSP) ? SIGTSTP : 0;
      if (sig) {
        if (!(lflag & NOFLSH)) {
          this.input = [];
          this.inputBytes = 0;
          this.line = [];
          this.output = [];
        }
        if (iflag & IXON) this.outputStopped = false;
        if (lflag & ECHO) this.echoChar(c);
        this.signal(sig);
        return;
      }
    }
    if (lflag & ICANON) {
      if (this.is(c, VERASE) || this.is(c, VKILL) || (lflag & IEXTEN && this.is(c, VWERASE))) {
        this.erase(c);
        return;
      }
      if (lflag & IEXTEN && this.is(c, VLNEXT)) {
        this.literalNext = true;
        if (lflag & ECHO && lflag & ECHOCTL) this.echoRaw([0x5e, BS]);
        return;
      }
      if (lflag & IEXTEN && this.is(c, VREPRINT)) {
        if (lflag & ECHO) {
          this.echoChar(c);
          this.echoRaw([NL]);
          for (const b of this.line) this.echoChar(b);
        }
        return;
      }
      if (this.is(c, VEOF)) {
        this.pushInput(this.line, true);
        this.line = [];
        return;
      }
    }
    this.addChar(c, false);
  }

  private startOutput(): void {
    this.outputStopped = false;
    this.queue.notify(POLLIN);
  }

  /** An ordinary character (or a line terminator) arrives. */
  private addChar(c: number, literal: boolean): void {
    const lflag = this.termios.lflag;
    if (!this.canonical) {
      if (lflag & ECHO) this.echoChar(c);
      else if (c === NL && lflag & ECHONL) this.echoRaw([NL]);
      this.pushInput([c], false);
      return;
    }
    const ends = !literal && (c === NL || this.is(c, VEOL) || (lflag & IEXTEN && this.is(c, VEOL2)));
    if (!ends && this.line.length >= MAX_CANON) return;
    if (c === NL) {
      if (lflag & (ECHO | ECHONL)) this.echoRaw([NL]);
    } else if (lflag & ECHO) {
      this.echoChar(c);
    }
    this.line.push(c);
    if (ends) {
      this.pushInput(this.line, false);
      this.line = [];
    }
  }

  /** Makes bytes readable: a new line in canonical mode, more of the running chunk otherwise. */
  private pushInput(bytes: number[], eof: boolean): void {
    if (this.canonical || eof) {
      this.input.push({ bytes: [...bytes] });
    } else {
      const last = this.input[this.input.length - 1];
      if (last) last.bytes.push(...bytes);
      else this.input.push({ bytes: [...bytes] });
    }
    this.inputBytes += bytes.length;
  }

  /** VERASE, VWERASE or VKILL on the line being edited. */
  private erase(c: number): void {
    const lflag = this.termios.lflag;
    if (this.line.length === 0) return;
    const kill = this.is(c, VKILL);
    const count = kill ? this.line.length : this.is(c, VWERASE) ? this.wordLength() : 1;
    if (!(lflag & ECHO)) {
      this.line.length -= count;
      return;
    }
    if (kill && (!(lflag & ECHOK) || !(lflag & ECHOKE) || !(lflag & ECHOE))) {
      this.line = [];
      this.echoChar(c);
      if (lflag & ECHOK) this.echoRaw([NL]);
      return;
    }
    if (this.is(c, VERASE) && !(lflag & ECHOE)) {
      this.line.pop();
      this.echoChar(c);
      return;
    }
    for (let i = 0; i < count; i++) this.rubOut();
  }

  /** How many characters VWERASE removes: trailing non-word characters, then the word before them. */
  private wordLength(): number {
    let n = 0;
    let seenWord = false;
    for (let i = this.line.length - 1; i >= 0; i--, n++) {
      if (isWordChar(this.line[i]!)) seenWord = true;
      else if (seenWord) break;
    }
    return n;
  }

  /** Removes the last character of the line and rubs it out on the screen. */
  private rubOut(): void {
    const c = this.line.pop();
    if (c === undefined) return;
    const lflag = this.termios.lflag;
    if (lflag & ECHOPRT) {
      this.echoChar(c);
      return;
    }
    if (c === TAB) {
      const cols = this.tabWidthAfter();
      for (let i = 0; i < cols; i++) this.echoRaw([BS]);
      return;
    }
    const cols = !isCntrl(c) ? 1 : lflag & ECHOCTL ? 2 : 0;
    for (let i = 0; i < cols; i++) this.echoRaw([BS, 0x20, BS]);
  }

  /** How many columns a tab just removed from the end of the line took when it was echoed. */
  private tabWidthAfter(): number {
    let col = 0;
    for (const b of this.line) {
      if (b === TAB) col = (col | 7) + 1;
      else if (isCntrl(b)) col += this.termios.lflag & ECHOCTL ? 2 : 0;
      else col++;
    }
    return 8 - (col & 7);
  }

  /** Echoes a received character: control characters as ^X under ECHOCTL. */
  private echoChar(c: number): void {
    if (this.termios.lflag & ECHOCTL && isCntrl(c) && c !== TAB && c !== NL) this.echoRaw([0x5e, c ^ 0x40]);
    else this.echoRaw([c]);
  }

  private echoRaw(bytes: number[]): void {
    for (const b of bytes) this.emit(b);
    this.queue.notify(POLLIN);
  }

  /** One byte of output (data or echo) through OPOST. */
  private emit(c: number): void {
    const oflag = this.termios.oflag;
    if (!(oflag & OPOST)) {
      this.output.push(c);
      return;
    }
    switch (c) {
      case NL:
        if (oflag & ONLCR) {
          this.output.push(CR, NL);
          this.column = 0;
          return;
        }
        if (oflag & ONLRET) this.column = 0;
        this.output.push(NL);
        return;
      case CR:
        if (oflag & ONOCR && this.column === 0) return;
        if (oflag & OCRNL) {
          if (oflag & ONLRET) this.column = 0;
          this.output.push(NL);
          return;
        }
        this.column = 0;
        this.output.push(CR);
        return;
      case TAB:
        this.column = (this.column | 7) + 1;
        this.output.push(TAB);
        return;
      case BS:
        if (this.column > 0) this.column--;
        this.output.push(BS);
        return;
      default:
        if (oflag & OLCUC && c >= 0x61 && c <= 0x7a) c -= 0x20;
        if (!isCntrl(c)) this.column++;
        this.output.push(c);
    }
  }

  /** VMIN and VTIME for a non-canonical read, or null in canonical mode. */
  get rawTiming(): { min: number; timeDs: number } | null {
    return this.canonical ? null : { min: this.cc(VMIN), timeDs: this.cc(VTIME) };
  }
}
