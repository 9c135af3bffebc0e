/* Pre-started interpreter: see prestart.c. */
#ifndef AIRLOCK_PRESTART_H
#define AIRLOCK_PRESTART_H
#include <sys/types.h>

/* Starts the image's pre-started interpreter, if it names one, with stdin_fd as its stdin and the output pipes'
 * write ends (stdout, stderr) as its fd 1 and 2. */
void prestart_start(int stdin_fd, const int output[2]);
/* Hands the job (argv, possibly behind `env -- NAME=VALUE…`) to the interpreter if it can run it: returns its
 * pid, now the job's program. Returns 0 (after discarding the interpreter) when the job needs a fresh exec. */
pid_t prestart_take(char **args, long long cpu_limit_ms);
/* Kills and reaps the pre-started interpreter if it was not handed a job. */
void prestart_discard(void);
/* CPU time the interpreter spent starting, before it was handed the job (not the job's). */
long long prestart_startup_cpu_ms(void);
/* Sets RLIMIT_CPU of pid (0 = self) to limit_ms on top of used_ms, rounded up to whole seconds; the hard limit
 * (SIGKILL) one second later. limit_ms <= 0: no limit. */
void limit_cpu(pid_t pid, long long limit_ms, long long used_ms);

#endif
