/* What upper layers may ask the loop about an fd without seeing its fd
 * table (the table's layout is the loop's own business). */
#ifndef TULIP_LOOP_FD_QUERY_H
#define TULIP_LOOP_FD_QUERY_H

/* 1 when the current loop has fd registered for tasks and has seen no
 * readable edge and no hang-up on it since the last read drained it: the
 * peer has sent nothing. 0 when it has, or when the loop cannot tell (no
 * loop, fd unknown or watched by callback): ask the kernel. */
int tulip__fd_quiet(int fd);

#endif
