/* lib/store_file's LIST (over lib/walk): keys in the byte order of the path, as an object store
 * lists them ("a-b" and "a.b" before "a/x"), the prefix matched as bytes (not as a directory),
 * common prefixes with a delimiter, and what is not an object (symlinks, in-progress writes). */
#include "store.h"
#include "tap.h"
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char T[64];

static void touch(const char *rel, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", T, rel);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(p, 0755); *s = '/'; }
    FILE *f = fopen(p, "w");
    if (f) { fputs(text, f); fclose(f); }
}

struct got { char text[4096]; size_t n; uint64_t size_a0; int64_t mtime_a0; };

static int on_obj(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    struct got *g = ud;
    const char *k = info->key + strlen(T) + 1; /* relative to T, to compare */
    g->n += (size_t)snprintf(g->text + g->n, sizeof g->text - g->n, "%s%s%s", g->n ? " " : "", is_prefix ? "P:" : "", k);
    if (!strcmp(k, "data/a0")) { g->size_a0 = info->size; g->mtime_a0 = info->mtime; }
    return 0;
}

static const char *list(struct tb_store *s, const char *rel, const char *delim, struct got *g)
{
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/%s", T, rel);
    memset(g, 0, sizeof *g);
    tb_err e = {0};
    int rc = tb_store_list_all(s, prefix, delim, on_obj, g, &e);
    if (rc) snprintf(g->text, sizeof g->text, "error %d: %s", rc, e.msg);
    return g->text;
}

int main(void)
{
    snprintf(T, sizeof T, "/tmp/tb-flist-XXXXXX");
    if (!mkdtemp(T)) { perror("mkdtemp"); return 1; }
    static const char *const files[] = {"data/a0", "data/a/x", "data/a.b", "data/a-b", "data/a/y.partial",
                                        "data/a/z.tb-mp-12-ab", "data/b/c/d", "data2/q", "datb", NULL};
    for (int i = 0; files[i]; i++) touch(files[i], "12345");
    char p[512];
    snprintf(p, sizeof p, "%s/data/link", T);
    if (symlink("a0", p) != 0) perror("symlink");
    snprintf(p, sizeof p, "%s/data/empty", T);
    mkdir(p, 0755);

    tb_err e = {0};
    struct tb_store *s = tu_dir_store(T, &e);
    CHECK(s != NULL, "open a directory store");
    struct got g;
    CHECK_STR(list(s, "data/", NULL, &g), "data/a-b data/a.b data/a/x data/a0 data/b/c/d",
              "byte order of full paths; no symlinks, no in-progress writes");
    CHECK(g.size_a0 == 5 && g.mtime_a0 > 0, "size and mtime of each object");
    CHECK_STR(list(s, "data", NULL, &g), "data/a-b data/a.b data/a/x data/a0 data/b/c/d data2/q",
              "a prefix is bytes: 'data' matches data2/ too, in order");
    CHECK_STR(list(s, "data/a", NULL, &g), "data/a-b data/a.b data/a/x data/a0", "a prefix inside a directory");
    CHECK_STR(list(s, "data/a/", NULL, &g), "data/a/x", "a prefix naming a directory");
    CHECK_STR(list(s, "data/a/x", NULL, &g), "data/a/x", "a prefix that is a key");
    CHECK_STR(list(s, "data/", "/", &g), "data/a-b data/a.b data/a0 P:data/a/ P:data/b/ P:data/empty/",
              "with a delimiter: objects, then the directories as common prefixes");
    CHECK_STR(list(s, "missing/", NULL, &g), "", "a missing directory lists nothing");
    CHECK_STR(list(s, "datb/x", NULL, &g), "", "a prefix under a file lists nothing");
    tb_store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    CHECK_INT(system(cmd), 0, "cleanup");
    return tap_done();
}
