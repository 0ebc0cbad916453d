// `runsc syscalls`: the syscall table as the compatibility page (markdown),
// JSON, or a plain list. docs/compatibility.md is this command's output.
import type { Command } from 'commander';
import { SYSCALL_TABLE } from '../../syscalls/table';

export function syscallsCommand(program: Command): void {
  program
    .command('syscalls')
    .description('list the syscalls the Sentry implements, with their support level')
    .option('--markdown', 'print the compatibility page', false)
    .option('--json', 'print JSON', false)
    .action((o: { markdown: boolean; json: boolean }) => {
      const rows = SYSCALL_TABLE.filter((r) => r.name !== '');
      if (o.json) {
        process.stdout.write(JSON.stringify(rows.map(({ nr, name, support, note }) => ({ nr, name, support, note: note ?? '' }))) + '\n');
        return;
      }
      if (!o.markdown) {
        for (const r of rows) process.stdout.write(`${r.nr}\t${r.name}\t${r.support}${r.note ? `\t${r.note}` : ''}\n`);
        return;
      }
      const count = (s: string) => rows.filter((r) => r.support === s).length;
      const out = [
        '# Syscall compatibility',
        '',
        'Generated from the syscall table (`syscalls/table.ts`) by `npm run docs` (`runsc syscalls --markdown`); do not edit by hand.',
        '',
        `x86-64 syscalls: ${count('full')} full, ${count('partial')} partial, ${count('none')} not implemented (they return ENOSYS).`,
        '',
        '| nr | syscall | support | notes |',
        '|---:|---|---|---|',
        ...rows.map((r) => `| ${r.nr} | ${r.name} | ${r.support} | ${(r.note ?? '').replace(/\|/g, '\\|')} |`),
        '',
      ];
      process.stdout.write(out.join('\n'));
    });
}
