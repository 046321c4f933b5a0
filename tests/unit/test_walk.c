/* lib/walk: a tree of tricky names ('-', '.', ' ', a newline, unicode, a non-UTF-8 byte, names
 * that are prefixes of others), empty directories, symlinks to files and directories, a fifo and
 * 200 levels of nesting, walked from every spelling of the root and compared with a reference
 * built the obvious way: every path collected, then one global sort of the full paths (directories
 * as "DIR/"). Then pruning, lstat's data, and errors that must not stop the walk. */
#include "walk.h"
#include "tap.h"
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char T[64];

static void mkdirs_for(const char *path)
{
    char p[8192];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(p, 0755); *s = '/'; }
}

static void touch(const char *rel, const char *text)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", T, rel);
    mkdirs_for(p);
    FILE *f = fopen(p, "w");
    if (f) { fputs(text, f); fclose(f); }
}

static void mkdir_rel(const char *rel)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/%s/", T, rel);
    mkdirs_for(p);
}

/* ---- the reference: collect everything, sort once */
struct list { char **v; size_t n, cap; };
static void add(struct list *l, const char *s)
{
    if (l->n == l->cap) { l->cap = l->cap ? l->cap * 2 : 64; l->v = realloc(l->v, l->cap * sizeof *l->v); }
    l->v[l->n++] = strdup(s);
}
static void list_free(struct list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}
static int scmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void collect(struct list *l, const char *full, const char *rel)
{
    DIR *d = opendir(full);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char f[8192], r[8192];
        snprintf(f, sizeof f, "%s/%s", full, de->d_name);
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        struct stat st;
        if (lstat(f, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            char k[8200];
            snprintf(k, sizeof k, "%s/", r);
            add(l, k);
            collect(l, f, r);
        } else {
            add(l, r);
        }
    }
    closedir(d);
}

/* The walk, as the same kind of list (directories with a '/'); full paths checked on the way. */
static int walk_list(const char *root, struct list *l, int *full_ok)
{
    struct tb_walk w;
    struct tb_walk_ent ent;
    tb_err e = {0};
    if (tb_walk_open(&w, root, &e)) return -1;
    size_t rl = strlen(root);
    *full_ok = 1;
    while (tb_walk_next(&w, &ent)) {
        char want[8192];
        snprintf(want, sizeof want, "%s%s%s", root, rl && root[rl - 1] != '/' ? "/" : "", ent.path);
        if (strcmp(want, ent.full) || ent.len != strlen(ent.path) || strchr(ent.name, '/')) *full_ok = 0;
        char k[8200];
        snprintf(k, sizeof k, "%s%s", ent.path, ent.type == TB_WALK_DIR ? "/" : "");
        add(l, k);
    }
    tb_walk_close(&w);
    return 0;
}

static int same(const struct list *a, const struct list *b)
{
    if (a->n != b->n) { printf("# %zu entries, want %zu\n", a->n, b->n); return 0; }
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i])) { printf("# entry %zu: '%s', want '%s'\n", i, a->v[i], b->v[i]); return 0; }
    return 1;
}

static void build_tree(void)
{
    static const char *const files[] = {
        "a-b", "a.b", "a b", "a\nb", "a0", "A", "a/b-c", "a/b.c", "a/b/c", "a/b0",
        "dir/x", "dir-x/y", "dir.x", "dir0", "é.txt", "日本/語.txt", "日本-x", "\xff", "\xfe/z", "~tilde",
        ".hidden/f", ".h", "x/y/z/w", "x/y-z", "x/y.z", "x/yz", NULL,
    };
    for (int i = 0; files[i]; i++) touch(files[i], files[i]);
    mkdir_rel("empty");
    mkdir_rel("a/empty-too");
    char p[8192], q[8192];
    snprintf(p, sizeof p, "%s/link-file", T);
    symlink("a0", p);
    snprintf(p, sizeof p, "%s/link-dir", T);
    symlink("dir", p);
    snprintf(p, sizeof p, "%s/dir/out", T);
    symlink("/", p);
    snprintf(p, sizeof p, "%s/fifo", T);
    mkfifo(p, 0644);
    /* 200 levels */
    size_t n = (size_t)snprintf(q, sizeof q, "deep");
    for (int i = 0; i < 200; i++) n += (size_t)snprintf(q + n, sizeof q - n, "/d");
    snprintf(q + n, sizeof q - n, "/leaf");
    touch(q, "leaf");
    touch("deep/d-", "beside");
}

static void order(void)
{
    struct list ref = {0}, got = {0};
    collect(&ref, T, "");
    qsort(ref.v, ref.n, sizeof *ref.v, scmp);
    int full_ok = 0;
    CHECK(walk_list(T, &got, &full_ok) == 0, "walk opens the root");
    CHECK(ref.n > 240, "the tree has its %zu entries", ref.n);
    CHECK(same(&got, &ref), "the walk is the global byte order of full paths");
    CHECK(full_ok, "full paths are the root joined with the relative path");

    /* the point of it, spelled out: "a-b" and "a.b" come before "a/..." and "a0" after */
    size_t ia = 0, iab = 0, iadot = 0, ia0 = 0, iab_c = 0;
    for (size_t i = 0; i < got.n; i++) {
        if (!strcmp(got.v[i], "a/")) ia = i;
        if (!strcmp(got.v[i], "a-b")) iab = i;
        if (!strcmp(got.v[i], "a.b")) iadot = i;
        if (!strcmp(got.v[i], "a0")) ia0 = i;
        if (!strcmp(got.v[i], "a/b-c")) iab_c = i;
    }
    CHECK(iab < iadot && iadot < ia && ia < ia0, "a-b < a.b < a/ < a0");
    CHECK(iab_c > ia && iab_c < ia0, "a/b-c inside a/");
    for (size_t i = 0; i + 1 < got.n; i++)
        if (!strcmp(got.v[i], "a/b-c")) CHECK(!strcmp(got.v[i + 1], "a/b.c") && !strcmp(got.v[i + 2], "a/b/"), "a/b-c, a/b.c, a/b/ in a row");

    /* the same from "T/" and from "" (the current directory) */
    struct list g2 = {0}, g3 = {0};
    char slash[80];
    snprintf(slash, sizeof slash, "%s/", T);
    walk_list(slash, &g2, &full_ok);
    CHECK(same(&g2, &ref) && full_ok, "a root with a trailing '/' walks the same, full paths without '//'");
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    if (chdir(T) == 0) {
        walk_list("", &g3, &full_ok);
        CHECK(same(&g3, &ref) && full_ok, "root \"\" walks the current directory, full path = path");
        if (chdir(cwd) != 0) perror("chdir");
    }
    list_free(&ref);
    list_free(&got);
    list_free(&g2);
    list_free(&g3);
}

static void types_and_prune(void)
{
    char p[8192];
    snprintf(p, sizeof p, "%s/a0", T);
    struct timespec ts[2] = {{1000, 5}, {1234567890, 987654321}};
    utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
    struct tb_walk w;
    struct tb_walk_ent ent;
    tb_err e = {0};
    tb_walk_open(&w, T, &e);
    int link_dir = 0, link_file = 0, fifo = 0, under_link = 0, a0 = 0, pruned_seen = 0, empty = 0, errors = 0;
    while (tb_walk_next(&w, &ent)) {
        if (!strcmp(ent.path, "link-dir")) link_dir = ent.type == TB_WALK_SYMLINK && ent.size == 3 && S_ISLNK(ent.mode);
        if (!strcmp(ent.path, "link-file")) link_file = ent.type == TB_WALK_SYMLINK && ent.size == 2;
        if (!strcmp(ent.path, "dir/out")) under_link += ent.type != TB_WALK_SYMLINK; /* a link to "/" is not entered */
        if (!strncmp(ent.path, "link-dir/", 9)) under_link++;
        if (!strcmp(ent.path, "fifo")) fifo = ent.type == TB_WALK_OTHER;
        if (!strcmp(ent.path, "a0"))
            a0 = ent.type == TB_WALK_FILE && ent.size == 2 && ent.mtime.tv_sec == 1234567890 && ent.mtime.tv_nsec == 987654321 &&
                 !strcmp(ent.name, "a0") && S_ISREG(ent.mode);
        if (!strcmp(ent.path, "empty")) empty = ent.type == TB_WALK_DIR;
        if (ent.type == TB_WALK_DIR && (!strcmp(ent.name, "x") || !strcmp(ent.name, "deep"))) tb_walk_prune(&w);
        if (!strncmp(ent.path, "x/", 2) || !strncmp(ent.path, "deep/", 5)) pruned_seen++;
        errors += ent.type == TB_WALK_ERROR;
    }
    tb_walk_close(&w);
    CHECK(link_dir, "a symlink to a directory is reported as a symlink (lstat size: its target's length)");
    CHECK(link_file, "a symlink to a file is reported as a symlink");
    CHECK(under_link == 0, "symlinks are never followed");
    CHECK(fifo, "a fifo is 'other'");
    CHECK(a0, "size, name, mode and the nanosecond mtime are lstat's");
    CHECK(empty, "an empty directory is reported");
    CHECK(pruned_seen == 0, "a pruned directory is not entered");
    CHECK(errors == 0, "no errors in a readable tree");
}

static void errors(void)
{
    struct tb_walk w;
    struct tb_walk_ent ent;
    tb_err e = {0};
    char p[8192];
    snprintf(p, sizeof p, "%s/nothing", T);
    int rc = tb_walk_open(&w, p, &e);
    CHECK(rc == 66 && errno == ENOENT && strstr(e.msg, "cannot list") && strstr(e.msg, "nothing"), "a missing root: 66, ENOENT");
    snprintf(p, sizeof p, "%s/a0", T);
    rc = tb_walk_open(&w, p, &e);
    CHECK(rc != 0 && errno == ENOTDIR, "a root that is a file: ENOTDIR");

    /* a directory deeper than PATH_MAX cannot be opened by path: reported, and the walk goes on */
    snprintf(p, sizeof p, "%s/long", T);
    mkdir(p, 0755);
    int fd = open(p, O_RDONLY | O_DIRECTORY);
    char name[251];
    memset(name, 'n', 250);
    name[250] = 0;
    for (int i = 0; i < 20 && fd >= 0; i++) {
        mkdirat(fd, name, 0755);
        int nfd = openat(fd, name, O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = nfd;
    }
    if (fd >= 0) close(fd);
    touch("long2", "after");
    CHECK(tb_walk_open(&w, T, &e) == 0, "walk opens");
    int toolong = 0, after = 0, error_after_dir = 0;
    char lastdir[8192] = "";
    while (tb_walk_next(&w, &ent)) {
        if (ent.type == TB_WALK_DIR) snprintf(lastdir, sizeof lastdir, "%s", ent.path);
        if (ent.type == TB_WALK_ERROR) {
            toolong += ent.err == ENAMETOOLONG;
            error_after_dir = !strcmp(lastdir, ent.path) && S_ISDIR(ent.mode);
        }
        if (!strcmp(ent.path, "long2")) after = toolong;
    }
    tb_walk_close(&w);
    CHECK(toolong == 1, "the too-deep directory is one error entry (ENAMETOOLONG)");
    CHECK(error_after_dir, "the error names the directory just reported, with its mode");
    CHECK(after == 1, "the walk goes on after the error");

    if (geteuid() != 0) {
        mkdir_rel("locked/in");
        snprintf(p, sizeof p, "%s/locked", T);
        chmod(p, 0);
        tb_walk_open(&w, T, &e);
        int denied = 0;
        while (tb_walk_next(&w, &ent)) denied += ent.type == TB_WALK_ERROR && ent.err == EACCES && !strcmp(ent.path, "locked");
        tb_walk_close(&w);
        chmod(p, 0755);
        CHECK(denied == 1, "an unreadable directory is an error entry (EACCES)");
    } else {
        CHECK(1, "# SKIP unreadable directory: running as root");
    }
}

int main(void)
{
    snprintf(T, sizeof T, "/tmp/tb-walk-XXXXXX");
    if (!mkdtemp(T)) { perror("mkdtemp"); return 1; }
    build_tree();
    order();
    types_and_prune();
    errors();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", T);
    return tap_done();
}
