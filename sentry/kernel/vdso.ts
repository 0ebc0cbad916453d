// The vDSO the Sentry maps into every workload (see vdso-image.ts), and the
// data page that keeps it current. The workload reads the TSC and scales it
// with parameters from the data page; the Sentry calibrates them against the
// host's CLOCK_MONOTONIC (the clock its own timers and syscalls use), so the
// vDSO's monotonic clock is the Sentry's to within a fraction of a
// microsecond, and the real-time clock keeps the Sentry's offset.
//
// Calibration: the TSC rate is measured between the first sample and the
// latest one, so it sharpens as the sandbox runs; the loop refreshes the
// parameters at growing intervals (up to once a second) while workload
// threads run. A refresh never moves the clock back: it re-anchors at the
// value the old parameters give for that instant, jumping forward to the
// host clock if it is behind, or running up to 10% slow until the host
// catches up if it is ahead. The data page is written under a seqlock; the
// anchoring TSC is read inside the write section, so every reader sees a
// value no lower than any earlier one.
import * as fs from 'node:fs';
import { sampleTsc, type TscSample } from '../../src/ffi/tsc';
import type { MemoryFile } from '../mm/memfile';
import type { AddressSpace } from '../mm/address-space';
import { Backing } from '../mm/address-space';
import { CachedFile } from '../mm/pagecache';
import { PROT_READ, PROT_EXEC, MAP_PRIVATE, MAP_FIXED } from '../../src/abi/linux';
import { VDSO_PAGE, VVAR, vdsoImage } from './vdso-image';

const FIRST_REFRESH_NS = 10_000_000n;
const MAX_REFRESH_NS = 1_000_000_000n;
/** The first calibration waits this long between its two samples. */
const INITIAL_BASELINE_NS = 1_000_000n;
const SHIFT = 32n;
const U64 = (1n << 64n) - 1n;

/** The TSC is usable as a clock when it runs at a constant rate through sleep states (an invariant TSC). */
function tscIsInvariant(): boolean {
  try {
    const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1]?.split(/\s+/) ?? [];
    return flags.includes('constant_tsc') && flags.includes('nonstop_tsc');
  } catch {
    return false;
  }
}

/** The sample with the narrowest TSC bracket of a few: the least uncertain pairing of TSC and host time. */
function bestSample(): { tsc: bigint; ns: bigint } {
  let best: TscSample | null = null;
  for (let i = 0; i < 5; i++) {
    const s = sampleTsc();
    if (!best || s.after - s.before < best.after - best.before) best = s;
  }
  return { tsc: (best!.before + best!.after) / 2n, ns: best!.ns };
}

export class Vdso {
  /** The data page and the image, one page each, in the memory file; never freed. */
  private readonly file: CachedFile;
  private readonly data: DataView;
  private readonly seq: Int32Array;
  private readonly enabled = tscIsInvariant();
  private first: { tsc: bigint; ns: bigint } | null = null;
  private params: { tscBase: bigint; nsBase: bigint; mult: bigint } | null = null;
  private interval = FIRST_REFRESH_NS;
  private nextRefreshNs: bigint | null = null;

  constructor(mf: MemoryFile, realtimeOffsetNs: bigint) {
    const off = mf.allocate(2 * VDSO_PAGE);
    const backing = new Backing(mf, off, 2 * VDSO_PAGE, true).ref();
    this.file = new CachedFile('vdso', 2 * VDSO_PAGE, backing);
    mf.write(off + VDSO_PAGE, vdsoImage().image);
    const page = mf.viewOf(off, VDSO_PAGE)!;
    this.data = new DataView(page.buffer, page.byteOffset, VDSO_PAGE);
    this.seq = new Int32Array(page.buffer, page.byteOffset, 1);
    this.set(VVAR.realtimeOffset, realtimeOffsetNs);
    if (this.enabled) this.first = bestSample();
  }

  /**
   * Maps the data page and the vDSO into as; returns the vDSO's address
   * (AT_SYSINFO_EHDR), or 0 if there was no room.
   */
  map(as: AddressSpace): number {
    if (this.enabled && !this.params) this.calibrate();
    const base = as.mmap(0, 2 * VDSO_PAGE, PROT_READ, MAP_PRIVATE, { cache: this.file, offset: 0, name: '[vvar]' });
    if (base < 0) return 0;
    const image = as.mmap(base + VDSO_PAGE, VDSO_PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, { cache: this.file, offset: VDSO_PAGE, name: '[vdso]' });
    return image < 0 ? 0 : image;
  }

  /**
   * The earlier of deadline and the next refresh, for the loop to wake at
   * while workload threads run (and may be reading the clock).
   */
  wakeAt(deadline: bigint | null): bigint | null {
    const r = this.nextRefreshNs;
    if (r === null) return deadline;
    return deadline === null || r < deadline ? r : deadline;
  }

  /** Refreshes the parameters if their time has come. */
  refreshIfDue(now: bigint): void {
    if (this.nextRefreshNs !== null && now >= this.nextRefreshNs) this.calibrate();
  }

  private calibrate(): void {
    const first = this.first!;
    if (!this.params) {
      // The first parameters need a measured rate: wait out a short baseline.
      while (process.hrtime.bigint() - first.ns < INITIAL_BASELINE_NS) { /* spin */ }
    }
    Atomics.store(this.seq, 0, this.seq[0]! + 1);
    const s = bestSample();
    const mult = ((s.ns - first.ns) << SHIFT) / (s.tsc - first.tsc);
    const anchor = sampleTsc().after;
    const host = s.ns + (((anchor - s.tsc) * mult) >> SHIFT);
    let nsBase = host;
    let slewed = mult;
    const p = this.params;
    if (p) {
      const shown = p.nsBase + ((anchor > p.tscBase ? (anchor - p.tscBase) * p.mult : 0n) >> SHIFT);
      if (shown > host) {
        // Ahead of the host: never step back; run slow until the host catches up.
        nsBase = shown;
        let excess = shown - host;
        if (excess > this.interval / 10n) excess = this.interval / 10n;
        slewed = (mult * (this.interval - excess)) / this.interval;
      }
    }
    this.params = { tscBase: anchor, nsBase, mult: slewed };
    this.set(VVAR.tscBase, anchor);
    this.set(VVAR.nsBase, nsBase);
    this.set(VVAR.mult, slewed);
    this.set(VVAR.enabled, 1n);
    Atomics.store(this.seq, 0, this.seq[0]! + 1);
    this.nextRefreshNs = s.ns + this.interval;
    if (this.interval < MAX_REFRESH_NS) this.interval *= 2n;
  }

  private set(field: number, v: bigint): void {
    this.data.setBigUint64(field, v & U64, true);
  }
}
