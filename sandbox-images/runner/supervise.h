/* Supervision of the job's program: its output pipes and their relay, waiting, killing, the wall clock. */
#ifndef AIRLOCK_SUPERVISE_H
#define AIRLOCK_SUPERVISE_H
#include <stddef.h>
#include <sys/types.h>

/* The runner's exit status when the job's wall-clock deadline passed (every process killed, no end markers). */
#define EXIT_DEADLINE 3
/* How long after meta/wall_ms (counted from the program's start) the runner itself ends the job. */
#define WALL_MARGIN_MS 1000

/* Creates the pipes the program's stdout and stderr go through; write_ends gets their write ends (close-on-exec:
 * a child moves them to fd 1 and 2). Returns -1 on failure. */
int output_pipes(int write_ends[2]);
/* Closes the runner's own copies of the write ends, once every process that writes has its copies. */
void close_output_writers(void);
/* From now on, wall_ms + WALL_MARGIN_MS later: every process is killed and the runner exits EXIT_DEADLINE,
 * wherever it is (relaying, packing outputs, writing markers). wall_ms <= 0: no deadline (an armed one is
 * disarmed). */
void arm_deadline(long long wall_ms);
/* Relays the program's output to the container's stdout and stderr (fd 1, 2) while it runs, reaping orphans;
 * when it has ended kills every process left and relays what remains in the pipes. Returns its wait status. */
int supervise(pid_t program);
/* Writes all of buf to fd (a container stream), waiting while it is full. Gives up only if nobody can ever read
 * it again (EPIPE and the like); the deadline bounds the wait. */
void write_stream(int fd, const char *buf, size_t n);
/* Kills every process but this one (all run as the sandbox uid) and reaps them. */
void kill_everything(void);

#endif
