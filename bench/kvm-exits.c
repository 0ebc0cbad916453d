/* What a VM exit, a shadow page fault and a translation flush cost on this
 * host's KVM, and which paravirtual interface it offers: the experiments
 * behind docs/design.md's "The KVM platform" and docs/benchmarks.md's KVM
 * section. A VM with no guest kernel, as the platform's: tiny ring 0 and
 * ring 3 loops, one case per run.
 *
 *   gcc -O2 -o kvm-exits bench/kvm-exits.c && ./kvm-exits CASE [N]   (root, or access to /dev/kvm)
 *
 * Cases (µs per operation, wall and the thread's CPU time, which a loaded
 * host inflates less):
 *   pvm        PVM's guest ABI: its MSRs written by the VMM (KVM_SET_MSRS) and
 *              by the guest (wrmsr in ring 0), its synthetic CPUID leaves
 *   ioctl      a vCPU ioctl (KVM_GET_REGS) and KVM_RUN with immediate_exit
 *   r0out      `out` in ring 0, to user space and back
 *   r0nops     the same after 100 nops (ring 0 emulated: the cost per instruction)
 *   r3mmio     a write to an unbacked page from ring 3, to user space and back
 *   r3int3     int3 in ring 3 through the IDT to ring 0's `out`, and iretq back
 *   faults     first touches of 512 pages from ring 3 (the host's shadow MMU)
 *   faults-ad  the same with the guest entries accessed and dirty and the
 *              host pages resident (the host then maps 8 per fault)
 *   flush-*    after the VMM retargets a guest PTE the guest has used, which
 *              way makes the guest see the new frame: none, sregs (KVM_SET_SREGS),
 *              slot (a one-page memory slot made and deleted), punch (the old
 *              frame's memory punched out on the host), dontneed (the VMM's
 *              mapping of the old frame dropped, its contents kept)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef uint64_t u64;
#define MEM (64UL << 20)
/* Guest physical layout. */
#define PML4 0x1000UL
#define UPDPT 0x2000UL
#define UPD 0x3000UL
#define UPT 0x4000UL
#define KPDPT 0x5000UL
#define KPD 0x6000UL
#define KPT 0x7000UL
#define UCODE 0x10000UL
#define USTACK 0x11000UL
#define KCODE 0x20000UL
#define KDATA 0x21000UL /* GDT, TSS, ring 0 stack */
#define KIDT 0x23000UL
#define TOUCH_PT 0x3000000UL /* page table for the 512 pages at TOUCH_VA */
#define TOUCH_FRAMES 0x1000000UL
#define MMIO_GPA (1UL << 40)
/* Guest virtual layout: user code at 4 MiB, stack above it, the unbacked page
 * at +0x3000; ring 0 in PML4 slot 400 (PVM confines a guest's upper half to
 * slots below 510). */
#define UVA 0x400000UL
#define MMIO_VA (UVA + 0x3000)
#define TOUCH_VA 0x600000UL
#define KB 0xffffc80000000000UL
#define NX (1UL << 63)

static int kvm, vm, vcpu;
static struct kvm_run *run;
static uint8_t *mem;

static u64 clk(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1000000000UL + t.tv_nsec;
}
static void report(const char *what, int n, u64 w0, u64 c0) {
  printf("%-46s %9.2f us wall %9.2f us cpu  (%d)\n", what, (clk(CLOCK_MONOTONIC) - w0) / 1e3 / n,
         (clk(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e3 / n, n);
}
static void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(1);
}
static void pte(u64 table, int i, u64 v) { ((u64 *)(mem + table))[i] = v; }
static int set_msr(uint32_t index, u64 value) {
  struct { struct kvm_msrs h; struct kvm_msr_entry e; } m = {{.nmsrs = 1}, {.index = index, .data = value}};
  return ioctl(vcpu, KVM_SET_MSRS, &m); /* the number of MSRs set */
}
static int get_msr(uint32_t index) {
  struct { struct kvm_msrs h; struct kvm_msr_entry e; } m = {{.nmsrs = 1}, {.index = index}};
  return ioctl(vcpu, KVM_GET_MSRS, &m);
}
static void seg(struct kvm_segment *s, u64 base, uint32_t limit, uint16_t sel, int type, int dpl, int db, int code_data, int l) {
  *s = (struct kvm_segment){.base = base, .limit = limit, .selector = sel, .type = type, .present = 1,
                            .dpl = dpl, .db = db, .s = code_data, .l = l, .g = 1};
}
static int vrun(void) {
  if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
  return run->exit_reason;
}

/* A VM in long mode, parked at ring 0's entry KB+0x400, which irets to ring 3
 * at UVA; ring 0's IDT sends int3 to KB+0x100 (out 0x10; iretq) and every
 * other vector to KB+0x300 (out 0x20; hlt). */
static void setup(void) {
  if ((kvm = open("/dev/kvm", O_RDWR)) < 0) die("/dev/kvm");
  if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0) die("KVM_CREATE_VM");
  if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0) die("KVM_CREATE_VCPU");
  run = mmap(0, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  mem = mmap(0, MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (run == MAP_FAILED || mem == MAP_FAILED) die("mmap");
  struct kvm_userspace_memory_region slot = {.memory_size = MEM, .userspace_addr = (u64)mem};
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot)) die("KVM_SET_USER_MEMORY_REGION");
  struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[256]; } cpuid = {{.nent = 256}};
  if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) || ioctl(vcpu, KVM_SET_CPUID2, &cpuid)) die("CPUID");

  pte(PML4, 0, UPDPT | 7); pte(UPDPT, 0, UPD | 7); pte(UPD, 2, UPT | 7);
  pte(UPT, 0, UCODE | 5); pte(UPT, 1, USTACK | 7 | NX); pte(UPT, 3, MMIO_GPA | 7 | NX);
  pte(PML4, 400, KPDPT | 7); pte(KPDPT, 0, KPD | 7); pte(KPD, 0, KPT | 7);
  pte(KPT, 0, KCODE | 1); pte(KPT, 1, KDATA | 3 | NX); pte(KPT, 2, MMIO_GPA | 3 | NX); pte(KPT, 3, KIDT | 1 | NX);
  for (int i = 0; i < 512; i++) pte(TOUCH_PT, i, (TOUCH_FRAMES + i * 4096UL) | 7 | NX);
  pte(UPD, 3, TOUCH_PT | 7);

  u64 gdt[10] = {0, 0, 0x00af9b000000ffffUL, 0x00cf93000000ffffUL, 0x00cffb000000ffffUL, 0x00cff3000000ffffUL, 0x00affb000000ffffUL};
  u64 tss = KB + 0x1100, rsp0 = KB + 0x1ff0;
  gdt[8] = 103 | (tss & 0xffffff) << 16 | 0x89UL << 40 | ((tss >> 24) & 0xff) << 56;
  gdt[9] = tss >> 32;
  memcpy(mem + KDATA, gdt, sizeof gdt);
  memcpy(mem + KDATA + 0x100 + 4, &rsp0, 8);
  for (int v = 0; v < 256; v++) {
    u64 target = KB + (v == 3 ? 0x100 : 0x300);
    uint8_t *g = mem + KIDT + v * 16;
    memset(g, 0, 16);
    *(uint16_t *)g = target; *(uint16_t *)(g + 2) = 0x10; g[5] = v == 3 ? 0xee : 0x8e;
    *(uint16_t *)(g + 6) = target >> 16; *(uint32_t *)(g + 8) = target >> 32;
  }
  memcpy(mem + KCODE + 0x100, "\xe6\x10\x48\xcf", 4); /* out 0x10, al; iretq */
  memcpy(mem + KCODE + 0x300, "\xe6\x20\xf4", 3);     /* out 0x20, al; hlt */
  /* push ss, rsp, rflags, cs, rip; iretq */
  memcpy(mem + KCODE + 0x400, "\x6a\x2b\x68\x00\x20\x40\x00\x68\x02\x02\x00\x00\x6a\x33\x68\x00\x00\x40\x00\x48\xcf", 21);

  struct kvm_sregs s;
  if (ioctl(vcpu, KVM_GET_SREGS, &s)) die("KVM_GET_SREGS");
  seg(&s.cs, 0, 0xfffff, 0x10, 11, 0, 0, 1, 1);
  seg(&s.ss, 0, 0xfffff, 0x18, 3, 0, 1, 1, 0);
  seg(&s.ds, 0, 0xfffff, 0, 3, 0, 1, 1, 0);
  s.ds.unusable = 1;
  s.es = s.fs = s.gs = s.ds;
  seg(&s.tr, tss, 103, 0x40, 11, 0, 0, 0, 0);
  s.tr.g = 0;
  s.gdt = (struct kvm_dtable){.base = KB + 0x1000, .limit = 0x4f};
  s.idt = (struct kvm_dtable){.base = KB + 0x3000, .limit = 0xfff};
  s.cr0 = 0x80050033; s.cr4 = 0x40620; s.efer = 0xd01; s.cr3 = PML4;
  if (ioctl(vcpu, KVM_SET_SREGS, &s)) die("KVM_SET_SREGS");
  struct kvm_regs r = {.rip = KB + 0x400, .rsp = rsp0, .rflags = 2};
  if (ioctl(vcpu, KVM_SET_REGS, &r)) die("KVM_SET_REGS");
}

/* Runs ring 0 code at KB from the start (instead of the way to ring 3). */
static void ring0(const void *code, size_t len) {
  memcpy(mem + KCODE, code, len);
  struct kvm_regs r = {.rip = KB, .rsp = KB + 0x1ff0, .rflags = 2};
  if (ioctl(vcpu, KVM_SET_REGS, &r)) die("KVM_SET_REGS");
}

/* n exits of the given reason; the first (the way in) is not timed. */
static void loop(const char *what, int n, int reason) {
  if (vrun() != reason) { printf("%s: first exit %d, port %#x\n", what, run->exit_reason, run->io.port); return; }
  u64 w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
  for (int i = 0; i < n; i++)
    if (vrun() != reason) { printf("%s: exit %d, port %#x at %d\n", what, run->exit_reason, run->io.port, i); return; }
  report(what, n, w0, c0);
}

/* Ring 3 code: read TOUCH_VA into al, write it to the unbacked page, again. */
static const char READ_LOOP[] = "\x8a\x04\x25\x00\x00\x60\x00\x88\x04\x25\x00\x30\x40\x00\xeb\xf0";

static void flush(const char *how) {
  memcpy(mem + UCODE, READ_LOOP, sizeof READ_LOOP - 1);
  memset(mem + TOUCH_FRAMES, 0xaa, 4096);
  memset(mem + TOUCH_FRAMES + 0x1000, 0xbb, 4096);
  vrun();
  if (vrun() != KVM_EXIT_MMIO) { printf("no exit to user space\n"); return; }
  printf("guest reads %#x; the VMM points the entry at a page of %#x, then flushes by %s:", run->mmio.data[0], 0xbb, how);
  pte(TOUCH_PT, 0, (TOUCH_FRAMES + 0x1000) | 7 | NX);
  u64 w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
  if (!strcmp(how, "sregs")) {
    struct kvm_sregs s;
    ioctl(vcpu, KVM_GET_SREGS, &s);
    ioctl(vcpu, KVM_SET_SREGS, &s);
  } else if (!strcmp(how, "slot")) {
    struct kvm_userspace_memory_region r = {.slot = 1, .guest_phys_addr = 1UL << 41, .memory_size = 4096, .userspace_addr = (u64)mem};
    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
    r.memory_size = 0;
    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
  } else if (!strcmp(how, "punch")) {
    if (madvise(mem + TOUCH_FRAMES, 4096, MADV_REMOVE)) die("MADV_REMOVE");
  } else if (!strcmp(how, "dontneed")) {
    if (madvise(mem + TOUCH_FRAMES, 4096, MADV_DONTNEED)) die("MADV_DONTNEED");
  }
  printf(" %.1f us wall, %.1f us cpu;", (clk(CLOCK_MONOTONIC) - w0) / 1e3, (clk(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e3);
  vrun();
  printf(" the guest then reads %#x (%s); the old page holds %#x\n", run->mmio.data[0], run->mmio.data[0] == 0xbb ? "seen" : "stale", mem[TOUCH_FRAMES]);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: kvm-exits CASE [N]\n"); return 2; }
  const char *c = argv[1];
  int n = argc > 2 ? atoi(argv[2]) : 1000;
  setup();
  if (!strcmp(c, "pvm")) {
    static const char *names[] = {"LINEAR_ADDRESS_RANGE", "VCPU_STRUCT", "SWITCH_CR3 (v1)", "SUPERVISOR_RSP (v1)",
                                  "EVENT_ENTRY", "RETU_RIP", "RETS_RIP", "SWITCH_CR3 (v2)"};
    for (uint32_t i = 0; i < 8; i++)
      printf("MSR_PVM_%-22s %#x: KVM_GET_MSRS %d of 1, KVM_SET_MSRS %d of 1\n", names[i], 0x4b564df0 + i,
             get_msr(0x4b564df0 + i), set_msr(0x4b564df0 + i, KDATA));
    /* mov ecx, MSR_PVM_VCPU_STRUCT; mov eax, KDATA; xor edx, edx; wrmsr; out 0x10, al */
    ring0("\xb9\xf1\x4d\x56\x4b\xb8\x00\x10\x02\x00\x31\xd2\x0f\x30\xe6\x10", 16);
    int e = vrun();
    printf("guest wrmsr MSR_PVM_VCPU_STRUCT: %s\n", e == KVM_EXIT_IO && run->io.port == 0x10 ? "accepted"
           : e == KVM_EXIT_IO && run->io.port == 0x20 ? "refused (#GP)" : "no answer");
    for (uint32_t leaf = 0x40000000; leaf <= 0x40000002; leaf++) {
      /* mov eax, leaf; invlpg [0xffffffffff4d5650]; cpuid; out 0x10, al: PVM's synthetic CPUID */
      uint8_t code[] = {0xb8, 0, 0, 0, 0, 0x0f, 0x01, 0x3c, 0x25, 0x50, 0x56, 0x4d, 0xff, 0x0f, 0xa2, 0xe6, 0x10};
      memcpy(code + 1, &leaf, 4);
      ring0(code, sizeof code);
      vrun();
      struct kvm_regs r;
      ioctl(vcpu, KVM_GET_REGS, &r);
      char sig[13] = {0};
      memcpy(sig, &r.rbx, 4); memcpy(sig + 4, &r.rcx, 4); memcpy(sig + 8, &r.rdx, 4);
      printf("synthetic CPUID %#x: eax %#llx ebx %#llx ('%s')\n", leaf, r.rax, r.rbx, sig);
    }
  } else if (!strcmp(c, "ioctl")) {
    struct kvm_regs r;
    u64 w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < n; i++) ioctl(vcpu, KVM_GET_REGS, &r);
    report("KVM_GET_REGS", n, w0, c0);
    run->immediate_exit = 1;
    w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < n; i++) ioctl(vcpu, KVM_RUN, 0);
    report("KVM_RUN with immediate_exit", n, w0, c0);
  } else if (!strcmp(c, "r0out")) {
    ring0("\xe6\x10\xeb\xfc", 4); /* out 0x10, al; jmp back */
    loop("ring 0 out exit", n, KVM_EXIT_IO);
  } else if (!strcmp(c, "r0nops")) {
    uint8_t code[107];
    memset(code, 0x90, 100);
    memcpy(code + 100, "\xe6\x10\xe9\x95\xff\xff\xff", 7); /* out; jmp to the first nop */
    ring0(code, sizeof code);
    loop("ring 0: 100 nops and an out exit", n, KVM_EXIT_IO);
  } else if (!strcmp(c, "r3mmio")) {
    memcpy(mem + UCODE, "\x88\x04\x25\x00\x30\x40\x00\xeb\xf7", 9); /* mov [MMIO_VA], al; jmp back */
    loop("ring 3 MMIO exit", n, KVM_EXIT_MMIO);
  } else if (!strcmp(c, "r3int3")) {
    memcpy(mem + UCODE, "\xcc\xeb\xfd", 3);
    loop("ring 3 int3 -> ring 0 out exit -> iretq", n, KVM_EXIT_IO);
  } else if (!strcmp(c, "faults") || !strcmp(c, "faults-ad")) {
    if (!strcmp(c, "faults-ad")) {
      memset(mem + TOUCH_FRAMES, 0, 512 * 4096);
      for (int i = 0; i < 512; i++) pte(TOUCH_PT, i, (TOUCH_FRAMES + i * 4096UL) | 0x67 | NX);
    }
    /* mov rbx, TOUCH_VA; mov ecx, 512; 1: mov [rbx], al; add rbx, 4096; dec ecx; jnz 1b; mov [MMIO_VA], al */
    memcpy(mem + UCODE, "\x48\xc7\xc3\x00\x00\x60\x00\xb9\x00\x02\x00\x00\x88\x03\x48\x81\xc3\x00\x10\x00\x00\xff\xc9\x75\xf3"
                        "\x88\x04\x25\x00\x30\x40\x00", 32);
    u64 w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
    if (vrun() != KVM_EXIT_MMIO) { printf("exit %d, port %#x\n", run->exit_reason, run->io.port); return 1; }
    report(strcmp(c, "faults") ? "first touch, entries accessed+dirty, resident" : "first touch of a page", 512, w0, c0);
  } else if (!strncmp(c, "flush-", 6)) {
    flush(c + 6);
  } else {
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
  }
  return 0;
}
