// CPU-bound work does not hold the sandbox: a spinning process still gets
// its timer signal, and a spinning thread does not keep another thread's
// sleep from ending.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t alarmed;
static volatile int stop;

static void on_alarm(int sig) { (void)sig; alarmed = 1; }

static void *spin(void *arg) {
  volatile unsigned long *n = arg;
  while (!stop) (*n)++;
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = { .it_value = { .tv_usec = 50000 } };
  setitimer(ITIMER_REAL, &it, NULL);
  unsigned long spins = 0;
  while (!alarmed) spins++;
  printf("alarm while spinning: %d\n", alarmed);

  unsigned long n = 0;
  pthread_t t;
  pthread_create(&t, NULL, spin, &n);
  struct timespec ts = { 0, 20 * 1000 * 1000 };
  nanosleep(&ts, NULL);
  stop = 1;
  pthread_join(t, NULL);
  printf("sleep ended beside a spinning thread: %d\n", n > 0);
  return 0;
}
