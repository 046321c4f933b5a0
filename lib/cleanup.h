/* cleanup: temp paths to unlink if the process is interrupted by a signal.
 * This is the one piece of process-wide mutable state in lib/: a signal handler gets no context
 * argument, so the list must be reachable from it. Fixed-size, async-signal-safe, thread-safe. */
#ifndef TB_CLEANUP_H
#define TB_CLEANUP_H
void tb_cleanup_add(const char *path);
void tb_cleanup_remove(const char *path);
/* Install SIGINT/SIGTERM/SIGHUP handlers that unlink registered temps and re-raise. */
void tb_cleanup_install(void);
/* Route SIGINT/SIGTERM/SIGHUP to handler instead, for a command that stops gracefully on its own
 * (it must then remove its temps itself, e.g. through tb_afile_abort). */
void tb_signals_install(void (*handler)(int));
#endif
