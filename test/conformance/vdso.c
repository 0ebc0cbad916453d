/* The vDSO: present in the auxiliary vector and in /proc/self/maps, exporting
 * the LINUX_2.6 time functions, and agreeing with the syscalls it stands in
 * for (monotonic never goes back, the wall clocks agree with each other and
 * with the raw syscalls, bad clocks and bad pointers still fail). */
#include "conf.h"
#include <elf.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

/* Looks a symbol up in the vDSO through its dynamic section and DT_HASH, as a C library does; 0 if absent. */
static void *vdso_sym(const char *want, const char **version) {
  const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
  if (!base) return 0;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
  long bias = -1;
  const Elf64_Dyn *dyn = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && bias == -1) bias = (long)base + ph[i].p_offset - ph[i].p_vaddr;
    if (ph[i].p_type == PT_DYNAMIC) dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
  }
  if (!dyn || bias == -1) return 0;
  const Elf64_Sym *syms = 0;
  const char *strs = 0;
  const Elf32_Word *hash = 0;
  const Elf64_Half *versym = 0;
  const Elf64_Verdef *verdef = 0;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    void *p = (void *)(bias + dyn->d_un.d_ptr);
    if (dyn->d_tag == DT_SYMTAB) syms = p;
    if (dyn->d_tag == DT_STRTAB) strs = p;
    if (dyn->d_tag == DT_HASH) hash = p;
    if (dyn->d_tag == DT_VERSYM) versym = p;
    if (dyn->d_tag == DT_VERDEF) verdef = p;
  }
  if (!syms || !strs || !hash) return 0;
  for (Elf32_Word i = 0; i < hash[1]; i++) {
    if (strcmp(strs + syms[i].st_name, want) != 0 || syms[i].st_shndx == SHN_UNDEF) continue;
    *version = "";
    if (versym && verdef) {
      for (const Elf64_Verdef *d = verdef;; d = (const Elf64_Verdef *)((const char *)d + d->vd_next)) {
        if (d->vd_ndx == (versym[i] & 0x7fff)) {
          *version = strs + ((const Elf64_Verdaux *)((const char *)d + d->vd_aux))->vda_name;
          break;
        }
        if (!d->vd_next) break;
      }
    }
    return (void *)(bias + syms[i].st_value);
  }
  return 0;
}

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
  SECTION("the vDSO is there");
  TP("AT_SYSINFO_EHDR set", getauxval(AT_SYSINFO_EHDR) != 0);
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  int vdso = 0, vvar = 0;
  while (maps && fgets(line, sizeof line, maps)) {
    if (strstr(line, "[vdso]")) vdso = strstr(line, " r-xp ") != 0;
    if (strstr(line, "[vvar]")) vvar = 1;
  }
  if (maps) fclose(maps);
  TP("[vdso] mapped r-x", vdso);
  TP("[vvar] mapped", vvar);
  const char *names[] = {"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu"};
  for (int i = 0; i < 4; i++) {
    const char *ver = "?";
    void *p = vdso_sym(names[i], &ver);
    printf("%s: %s %s\n", names[i], p ? "found" : "missing", p ? ver : "");
  }

  SECTION("clocks");
  clock_gettime_fn vcg = (clock_gettime_fn)vdso_sym("__vdso_clock_gettime", &(const char *){0});
  struct timespec a, b, s;
  int back = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < 200000; i++) {
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (ns(b) < ns(a)) back++;
    a = b;
  }
  TP("monotonic never goes back", back == 0);
  /* The vDSO's clocks against the raw syscalls: within 5 ms. */
  clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE};
  const char *idn[] = {"REALTIME", "MONOTONIC", "MONOTONIC_RAW", "BOOTTIME", "REALTIME_COARSE", "MONOTONIC_COARSE"};
  for (int i = 0; i < 6; i++) {
    struct timespec v, k1, k2;
    syscall(SYS_clock_gettime, ids[i], &k1);
    int r = vcg(ids[i], &v);
    syscall(SYS_clock_gettime, ids[i], &k2);
    /* Coarse clocks lag by up to a tick. */
    long long slack = 5000000;
    printf("%s: %d, between syscalls %d\n", idn[i], r, ns(v) >= ns(k1) - slack && ns(v) <= ns(k2) + slack);
  }
  TL("vdso clock_gettime(CLOCK_PROCESS_CPUTIME_ID)", vcg(CLOCK_PROCESS_CPUTIME_ID, &s));
  TL("clock_gettime(99)", clock_gettime(99, &s));
  TL("clock_gettime(-1)", clock_gettime(-1, &s));
  struct timeval tv;
  struct timezone tz = {123, 456};
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  T(gettimeofday(&tv, &tz));
  printf("timezone: %d %d\n", tz.tz_minuteswest, tz.tz_dsttime);
  long long dtv = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL - ns(rt);
  /* gettimeofday truncates to microseconds. */
  TP("gettimeofday agrees with CLOCK_REALTIME", dtv > -1000 && dtv < 5000000);
  TP("tv_usec < 1000000", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
  int (*vgtod)(struct timeval *, struct timezone *) = (int (*)(struct timeval *, struct timezone *))vdso_sym("__vdso_gettimeofday", &(const char *){0});
  T(vgtod(NULL, NULL));
  time_t t1, t2 = time(&t1);
  TP("time agrees with itself", t1 == t2);
  TP("time agrees with CLOCK_REALTIME", t2 - rt.tv_sec >= 0 && t2 - rt.tv_sec <= 1);
  TP("time(NULL) > 2020", time(NULL) > 1577836800);
  unsigned cpu = 999, node = 999;
  T(syscall(SYS_getcpu, &cpu, &node, NULL));
  TP("getcpu cpu < CPUs", cpu < (unsigned)sysconf(_SC_NPROCESSORS_CONF) || cpu < 1024);
  TP("sched_getcpu >= 0", sched_getcpu() >= 0);

  SECTION("sleeps measured with the vDSO clock");
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec d = {0, 20000000};
  nanosleep(&d, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  TP("20 ms nanosleep lasts at least 20 ms", ns(b) - ns(a) >= 20000000);
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  dl.tv_nsec += 10000000;
  if (dl.tv_nsec >= 1000000000) dl.tv_sec++, dl.tv_nsec -= 1000000000;
  T(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL));
  clock_gettime(CLOCK_MONOTONIC, &b);
  TP("absolute sleep ends after its deadline", ns(b) >= ns(dl));
  return 0;
}
