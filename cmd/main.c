/* main: the multi-call dispatcher. The table below is the one list of commands: help, dispatch,
 * the completion scripts and the install symlinks all follow from it. */
#include "cleanup.h"
#include "commands.h"
#include "err.h"
#include "opts.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TB_VERSION
#define TB_VERSION "0.1.0"
#endif

static const struct tb_cmd_spec *const commands[] = {
    &tb_cmd_cat, &tb_cmd_split, &tb_cmd_shard, &tb_cmd_upload, &tb_cmd_manifest, &tb_cmd_discover, &tb_cmd_sync,
    &tb_cmd_presign, &tb_cmd_vast, &tb_cmd_job,
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static const struct tb_cmd_spec *find(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: trainbox COMMAND [OPTIONS] [ARGS]\n"
                 "       trainbox help COMMAND | trainbox --version\n\n"
                 "Move training data and checkpoints between where they are made, stored and trained on.\n"
                 "Commands read and write newline-delimited JSON and compose through pipes.\n\nCommands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s%s\n", commands[i]->name, commands[i]->summary, commands[i]->run ? "" : " (not built yet)");
    fprintf(out, "\nRun 'trainbox COMMAND --help' or 'man trainbox-COMMAND' for a command's options.\n"
                 "Exit codes (trainbox(1), EXIT STATUS): 0 ok, 1 partial failure, 64 usage, 65 bad data,\n"
                 "66 input missing, 69 unavailable, 70 internal, 73 cannot create output, 74 I/O error,\n"
                 "75 try again, 77 permission denied.\n");
}

static int run(const struct tb_cmd_spec *c, int argc, char **argv)
{
    if (!c->run) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                printf("Usage: trainbox %s %s\n\n%s.\n\nThis command is not built yet in this version.\n", c->name, c->synopsis, c->summary);
                return 0;
            }
        }
        fprintf(stderr, "trainbox %s: not built yet in this version of trainbox (%s)\n", c->name, TB_VERSION);
        return TB_EUNAVAIL;
    }
    return c->run(argc, argv);
}

static const char *suggest(const char *name)
{
    /* a command sharing the first two letters, for the hint */
    for (int i = 0; i < NCOMMANDS; i++)
        if (strncmp(commands[i]->name, name, 2) == 0) return commands[i]->name;
    return NULL;
}

int main(int argc, char **argv)
{
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    /* Keep freed heap instead of handing it back and faulting it in again: libcurl frees its 512 KiB
     * upload buffer after every request, and with glibc's defaults (a sliding mmap threshold, trimming
     * above twice that) each new request touched fresh zeroed pages, 30-40 MB of page faults and
     * clearing for 200 uploads (a tenth of upload's CPU). Peak memory is unchanged; it is just kept. */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    tb_cleanup_install();

    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (strncmp(base, "trainbox-", 9) == 0) base += 9;
    const struct tb_cmd_spec *c = find(base);
    if (c) return run(c, argc, argv);

    if (argc < 2) {
        usage(stderr);
        return TB_EUSAGE;
    }
    const char *a = argv[1];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); return 0; }
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) { printf("trainbox %s\n", TB_VERSION); return 0; }
    if (strcmp(a, "help") == 0) {
        if (argc < 3) { usage(stdout); return 0; }
        c = find(argv[2]);
        if (!c) return tb_usage("", "unknown command '%s'", argv[2]);
        if (!c->run) { char *v[] = {argv[2], "--help", NULL}; return run(c, 2, v); }
        tb_help_print(c, stdout);
        return 0;
    }
    /* hidden, for the build and the tests: the tables behind help, completions and man pages */
    if (strcmp(a, "--list-commands") == 0) {
        for (int i = 0; i < NCOMMANDS; i++) printf("%s\n", commands[i]->name);
        return 0;
    }
    if (strcmp(a, "--list-options") == 0 && argc == 3) {
        c = find(argv[2]);
        if (!c) return tb_usage("", "unknown command '%s'", argv[2]);
        for (const struct tb_opt *o = c->opts; o && o->id; o++) {
            if (o->lng) printf("--%s\n", o->lng);
            if (o->shrt) printf("-%c\n", o->shrt);
        }
        return 0;
    }
    if (strcmp(a, "--completion") == 0 && argc == 3) {
        if (strcmp(argv[2], "bash") && strcmp(argv[2], "zsh") && strcmp(argv[2], "fish"))
            return tb_usage("", "no completion for shell '%s' (bash, zsh, fish)", argv[2]);
        tb_completion_print(argv[2], commands, NCOMMANDS, stdout);
        return 0;
    }
    if (a[0] == '-') return tb_usage("", "unknown option '%s'", a);
    c = find(a);
    if (!c) {
        const char *s = suggest(a);
        fprintf(stderr, "trainbox: unknown command '%s'\n", a);
        if (s) fprintf(stderr, "did you mean '%s'? try 'trainbox --help'\n", s);
        else fprintf(stderr, "try 'trainbox --help'\n");
        return TB_EUSAGE;
    }
    return run(c, argc - 1, argv + 1);
}
