/* cleanup: unlink registered temp files on SIGINT/SIGTERM/SIGHUP. */
#include "cleanup.h"
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 256
#define PATHMAX 4096
static char slots[SLOTS][PATHMAX];
/* 0 free, 2 being filled, 1 holds a path. A slot is claimed by compare-and-swap, so threads
 * (cat's prefetch thread beside its reader) never fill one slot twice; lock-free atomics are
 * async-signal-safe, so the handler may read them. */
static _Atomic int used[SLOTS];

void tb_cleanup_add(const char *path)
{
    if (strlen(path) >= PATHMAX) return;
    for (int i = 0; i < SLOTS; i++) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&used[i], &expect, 2)) {
            strcpy(slots[i], path);
            atomic_store(&used[i], 1);
            return;
        }
    }
}

void tb_cleanup_remove(const char *path)
{
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load(&used[i]) == 1 && strcmp(slots[i], path) == 0) { atomic_store(&used[i], 0); return; }
}

static void on_signal(int sig)
{
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load(&used[i]) == 1) unlink(slots[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void tb_cleanup_install(void) { tb_signals_install(on_signal); }

void tb_signals_install(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}
