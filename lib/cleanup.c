/* cleanup: unlink registered temp files on SIGINT/SIGTERM/SIGHUP. */
#include "cleanup.h"
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 256
#define PATHMAX 4096
static char slots[SLOTS][PATHMAX];
static volatile sig_atomic_t used[SLOTS];

void tb_cleanup_add(const char *path)
{
    if (strlen(path) >= PATHMAX) return;
    for (int i = 0; i < SLOTS; i++) {
        if (!used[i]) {
            strcpy(slots[i], path);
            used[i] = 1;
            return;
        }
    }
}

void tb_cleanup_remove(const char *path)
{
    for (int i = 0; i < SLOTS; i++)
        if (used[i] && strcmp(slots[i], path) == 0) { used[i] = 0; return; }
}

static void on_signal(int sig)
{
    for (int i = 0; i < SLOTS; i++)
        if (used[i]) unlink(slots[i]);
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
