/* The tiny static program that forkexec execs: no libc, just exit_group(0).
 * Built with -nostdlib -static. */
void _start(void) {
  __asm__ volatile("mov $231, %eax\n\t" /* SYS_exit_group */
                   "xor %edi, %edi\n\t"
                   "syscall\n\t"
                   "hlt");
}
