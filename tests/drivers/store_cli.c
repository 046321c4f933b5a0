/* store_cli: a test driver for lib/store: any store URI (s3://, az://, file://) through the store's
 * core (tb_store_open, tb_store_run, and tb_store_submit + tb_store_perform for parts in parallel on
 * one multi handle), so the bats suites check every backend against moto, Azurite and directories
 * where no trainbox command reaches (reading an object back, listing page by page, server-side copy,
 * mtime metadata, damaging a dataset behind trainbox's back). Not a unit test (it needs a server), so
 * `make unit` builds it (build/drivers/store_cli) but scripts/run-tests.sh does not run it.
 *   store_cli [-p PART] [-r ATTEMPTS] [-j CONNS] [-m MAXKEYS] [-n] [-P] [-M MTIME] [-S SHA256] [-T] CMD URI [ARGS]
 *   head | get [OFF [LEN]] | getmem | sha | presign [METHOD [SECONDS]] | put FILE | putmem TEXT |
 *   mput FILE (blocks of PART bytes) | copy SRCKEY | list [DELIM] | delete | mkroot (-P: public read) | caps
 * put, putmem and mput store the body's sha256 and Content-MD5, as upload does; -M gives them (and
 * copy) a meta_mtime (rclone's decimal seconds), -S gives copy a new sha256, -T adds each listed
 * object's meta_mtime (or -) to list's lines. sha prints "SIZE SHA256"
 * of the whole object (read through a callback) and then of bytes 1000..1999 (read into memory).
 * Prints what the store answered (head and writes: one info line, with meta_mtime=V and its parsed
 * value mtime_ns=SEC.NNNNNNNNN when the object has one); stderr ends with "retries=N precond=N". */
#include "err.h"
#include "hash.h"
#include "mtime.h"
#include "store.h"
#include "uri.h"
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t out_sink(void *ud, const void *p, size_t n)
{
    (void)ud;
    return fwrite(p, 1, n, stdout);
}

/* A part's base64 MD5 (Azure checks it) and hex SHA-256 (S3 signs it and lists it at completion). */
static void part_hashes(int fd, uint64_t off, uint64_t len, char out[32], char sha[65])
{
    unsigned char *buf = malloc(len ? len : 1), md[16];
    ssize_t got = pread(fd, buf, len, (off_t)off);
    unsigned ml = 0;
    EVP_Digest(buf, got > 0 ? (size_t)got : 0, md, &ml, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)out, md, 16);
    tb_sha256_hex(buf, got > 0 ? (size_t)got : 0, sha);
    free(buf);
}

/* sha256 hex and base64 MD5 of a file (path) or of n bytes at mem (path NULL). */
static void body_hashes(const char *path, const void *mem, size_t n, char sha[65], char md5b64[32])
{
    struct tb_digest *d = tb_digest_new();
    char buf[65536], md5hex[33];
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!path) tb_digest_update(d, mem, n);
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) tb_digest_update(d, buf, n);
    if (f) fclose(f);
    tb_digest_final(d, sha, md5hex);
    tb_digest_free(d);
    unsigned char raw[16];
    for (int i = 0; i < 16; i++) { unsigned v; sscanf(md5hex + 2 * i, "%2x", &v); raw[i] = (unsigned char)v; }
    EVP_EncodeBlock((unsigned char *)md5b64, raw, 16);
}

static void print_info(const struct tb_obj_info *in)
{
    printf("exists=%d size=%llu md5=%s sha256=%s etag=%s mtime=%s", in->exists, (unsigned long long)in->size,
           in->content_md5, in->sha256, in->etag[0] ? "yes" : "no", in->mtime > 1000000000 ? "yes" : "no");
    struct timespec ts;
    if (in->meta_mtime[0] && tb_mtime_parse(in->meta_mtime, &ts) == 0) {
        /* the parsed instant as a decimal with nine digits (stat -c %.9Y prints it so) */
        int neg = ts.tv_sec < 0 && ts.tv_nsec > 0;
        printf(" meta_mtime=%s mtime_ns=%s%lld.%09ld", in->meta_mtime, neg ? "-" : "",
               neg ? -(long long)ts.tv_sec - 1 : (long long)ts.tv_sec, neg ? 1000000000L - ts.tv_nsec : ts.tv_nsec);
    }
    else if (in->meta_mtime[0])
        printf(" meta_mtime=%s mtime_ns=unparsable", in->meta_mtime);
    printf("\n");
}

/* "SIZE SHA256" of the whole object through a sink, then of bytes 1000..1999 into memory (a GET
 * cut short by the network resumes with the remaining range: tests/upload.bats). */
struct acc { struct tb_digest *d; uint64_t n; };

static size_t sha_sink(void *ud, const void *p, size_t n)
{
    struct acc *a = ud;
    tb_digest_update(a->d, p, n);
    a->n += n;
    return n;
}

static int sha(struct tb_store *s, const char *key, tb_err *e)
{
    struct acc a = {tb_digest_new(), 0};
    struct tb_store_req r = {0};
    r.op = TB_OP_GET;
    r.key = key;
    r.sink = sha_sink;
    r.sink_ud = &a;
    int rc = tb_store_run(s, &r, e);
    char hex[65], md5hex[33];
    tb_digest_final(a.d, hex, md5hex);
    tb_digest_free(a.d);
    if (!rc) printf("%llu %s\n", (unsigned long long)a.n, hex);
    tb_store_req_clear(&r);
    if (rc) return rc;
    memset(&r, 0, sizeof r);
    r.op = TB_OP_GET;
    r.key = key;
    r.range_off = 1000;
    r.range_len = 1000;
    if (!(rc = tb_store_run(s, &r, e))) {
        tb_sha256_hex(r.data, r.data_len, hex);
        printf("%zu %s\n", r.data_len, hex);
    }
    tb_store_req_clear(&r);
    return rc;
}

/* Large upload as the upload pipeline would do it: MP_CREATE, every part submitted at once (lib/http
 * keeps max_conns in flight and queues the rest), MP_COMPLETE; MP_ABORT when a part failed. */
static int mput(struct tb_store *s, const char *key, const char *path, uint64_t part, int nclob, const char *mtime,
                struct tb_store_req *r, tb_err *e)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) return tb_fail_errno(e, 0, "%s", path);
    char sha[65], md5[32];
    body_hashes(path, NULL, 0, sha, md5);
    uint64_t size = (uint64_t)st.st_size, np = (size + part - 1) / part;
    struct tb_store_req cr = {0};
    cr.op = TB_OP_MP_CREATE;
    cr.key = key;
    cr.sha256 = sha;
    cr.content_type = "application/x-tar";
    cr.meta_mtime = mtime;
    cr.total_size = size;
    int rc = tb_store_run(s, &cr, e);
    struct tb_store_req *parts = calloc(np, sizeof *parts);
    struct tb_store_part *pl = calloc(np, sizeof *pl);
    char (*pmd5)[32] = calloc(np, 32);
    char (*psha)[65] = calloc(np, 65);
    for (uint64_t i = 0; !rc && i < np; i++) {
        struct tb_store_req *p = &parts[i];
        p->op = TB_OP_MP_PART;
        p->key = key;
        p->upload_id = cr.upload_id_out;
        p->part_num = (int)i + 1;
        p->part_off = i * part;
        p->total_size = size;
        p->body = (struct tb_body){fd, NULL, i * part, size - i * part < part ? size - i * part : part};
        part_hashes(fd, p->body.off, p->body.len, pmd5[i], psha[i]);
        p->content_md5 = pmd5[i];
        p->body_sha256 = psha[i];
        if (tb_store_submit(s, p)) rc = tb_fail(e, TB_ESOFTWARE, "submit failed");
    }
    while (tb_store_perform(s, 100) > 0) {}
    int retries = 0;
    for (uint64_t i = 0; !rc && i < np; i++) {
        if (parts[i].status) { rc = parts[i].status; *e = parts[i].err; }
        pl[i].num = (int)i + 1;
        snprintf(pl[i].etag, sizeof pl[i].etag, "%s", parts[i].part_etag);
        snprintf(pl[i].sha256, sizeof pl[i].sha256, "%s", psha[i]);
        retries += parts[i].retries;
    }
    if (!rc) {
        r->op = TB_OP_MP_COMPLETE;
        r->key = key;
        r->upload_id = cr.upload_id_out;
        r->parts = pl;
        r->nparts = (int)np;
        r->content_md5 = md5;
        r->total_size = size;
        r->if_none_match = nclob;
        if (!(rc = tb_store_run(s, r, e))) print_info(&r->info);
        retries += r->retries;
    } else {
        struct tb_store_req ab = {0};
        ab.op = TB_OP_MP_ABORT;
        ab.key = key;
        ab.upload_id = cr.upload_id_out;
        tb_err ae = {0};
        tb_store_run(s, &ab, &ae);
        tb_store_req_clear(&ab);
    }
    r->retries = retries;
    for (uint64_t i = 0; i < np; i++) tb_store_req_clear(&parts[i]);
    tb_store_req_clear(&cr);
    free(parts);
    free(pl);
    free(pmd5);
    free(psha);
    close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t part = 4u << 20;
    int c, maxkeys = 0, nclob = 0, public_read = 0;
    const char *mtime = NULL, *newsha = NULL;
    int list_mtime = 0;
    struct tb_store_cfg cfg;
    tb_store_cfg_defaults(&cfg);
    cfg.http.base_ms = 20;
    cfg.http.cap_ms = 200;
    while ((c = getopt(argc, argv, "p:r:j:m:nPM:S:T")) != -1) {
        switch (c) {
        case 'p': part = strtoull(optarg, NULL, 10); break;
        case 'r': cfg.http.max_attempts = atoi(optarg); break;
        case 'j': cfg.http.max_conns = atoi(optarg); break;
        case 'm': maxkeys = atoi(optarg); break;
        case 'n': nclob = 1; break;
        case 'P': public_read = 1; break;
        case 'M': mtime = optarg; break;
        case 'S': newsha = optarg; break;
        case 'T': list_mtime = 1; break;
        default: return TB_EUSAGE;
        }
    }
    if (argc - optind < 2) return tb_usage("store_cli", "CMD URI [ARGS]");
    const char *cmd = argv[optind], *uri = argv[optind + 1];
    const char *arg = argc - optind > 2 ? argv[optind + 2] : NULL;
    tb_err e = {0};
    struct tb_uri u;
    if (tb_uri_parse(uri, &u, &e)) return tb_report("store_cli", &e);
    struct tb_store *s = NULL;
    int rc = tb_store_open(&s, &u, &cfg, &e);
    if (rc) {
        tb_uri_free(&u);
        return tb_report("store_cli", &e);
    }
    const char *key = tb_store_key_of(&u);
    struct tb_store_req r = {0};
    r.key = key;
    if (strcmp(cmd, "head") == 0) {
        r.op = TB_OP_HEAD;
        if (!(rc = tb_store_run(s, &r, &e))) print_info(&r.info);
    } else if (strcmp(cmd, "get") == 0) {
        r.op = TB_OP_GET;
        r.range_off = arg ? strtoull(arg, NULL, 10) : 0;
        r.range_len = argc - optind > 3 ? strtoull(argv[optind + 3], NULL, 10) : 0;
        r.sink = out_sink;
        rc = tb_store_run(s, &r, &e);
    } else if (strcmp(cmd, "getmem") == 0) {
        char *data = NULL;
        size_t len = 0;
        if (!(rc = tb_store_get_mem(s, key, &data, &len, &e))) fwrite(data, 1, len, stdout);
        free(data);
    } else if (strcmp(cmd, "presign") == 0) {
        char *url = NULL;
        if (!(rc = tb_store_presign(s, key, arg ? arg : "GET", argc - optind > 3 ? atol(argv[optind + 3]) : 600, &url, &e)))
            printf("%s\n", url);
        free(url);
    } else if (strcmp(cmd, "delete") == 0) {
        r.op = TB_OP_DELETE;
        rc = tb_store_run(s, &r, &e);
    } else if (strcmp(cmd, "list") == 0) {
        char *token = NULL;
        int pages = 0;
        do {
            tb_store_req_clear(&r);
            r = (struct tb_store_req){.op = TB_OP_LIST, .prefix = key, .delimiter = arg, .token = token, .max_keys = maxkeys};
            rc = tb_store_run(s, &r, &e);
            pages++;
            for (size_t i = 0; !rc && i < r.nitems; i++) {
                printf("%s %llu %s %s", r.items[i].key, (unsigned long long)r.items[i].size, r.items[i].content_md5,
                       r.items[i].sha256[0] ? r.items[i].sha256 : "-");
                if (list_mtime) printf(" %s", r.items[i].meta_mtime[0] ? r.items[i].meta_mtime : "-");
                printf("\n");
            }
            for (size_t i = 0; !rc && i < r.nprefixes; i++) printf("PRE %s\n", r.prefixes[i]);
            free(token);
            token = !rc && r.next_token ? strdup(r.next_token) : NULL;
        } while (!rc && token);
        free(token);
        fprintf(stderr, "pages=%d\n", pages);
    } else if ((strcmp(cmd, "put") == 0 || strcmp(cmd, "putmem") == 0) && arg) {
        int mem = cmd[3] == 'm';
        struct stat st;
        int fd = mem ? -1 : open(arg, O_RDONLY);
        if (!mem && (fd < 0 || fstat(fd, &st))) {
            rc = tb_fail_errno(&e, 0, "%s", arg);
        } else {
            char sha[65], md5[32];
            body_hashes(mem ? NULL : arg, arg, strlen(arg), sha, md5);
            r.op = TB_OP_PUT;
            r.body = mem ? (struct tb_body){-1, arg, 0, strlen(arg)} : (struct tb_body){fd, NULL, 0, (uint64_t)st.st_size};
            r.content_md5 = md5;
            r.sha256 = sha;
            r.if_none_match = nclob;
            r.meta_mtime = mtime;
            if (!(rc = tb_store_run(s, &r, &e))) print_info(&r.info);
        }
        if (fd >= 0) close(fd);
    } else if (strcmp(cmd, "mkroot") == 0) {
        r.op = TB_OP_CREATE_ROOT;
        r.public_read = public_read;
        rc = tb_store_run(s, &r, &e);
    } else if (strcmp(cmd, "caps") == 0) {
        struct tb_store_caps caps;
        tb_store_caps(s, &caps);
        printf("create_root=%d public_root=%d presign=%d\n", caps.create_root, caps.public_root, caps.presign);
        fprintf(stderr, "copy_max=%llu\n", (unsigned long long)s->be->copy_max); /* caps.copy_max once the lead wires it */
    } else if (strcmp(cmd, "mput") == 0 && arg) {
        rc = mput(s, key, arg, part, nclob, mtime, &r, &e);
    } else if (strcmp(cmd, "copy") == 0 && arg) {
        /* the source: a key in the same store (for file stores, a path) */
        r.op = TB_OP_COPY;
        r.copy_src = arg;
        r.meta_mtime = mtime;
        r.sha256 = newsha;
        if (!(rc = tb_store_run(s, &r, &e))) print_info(&r.info);
    } else if (strcmp(cmd, "sha") == 0) {
        rc = sha(s, key, &e);
    } else {
        rc = tb_usage("store_cli", "unknown command %s", cmd);
        e.code = 0;
    }
    if (rc && e.code) rc = tb_report("store_cli", &e);
    fprintf(stderr, "retries=%d precond=%d\n", r.retries, r.precond_failed);
    tb_store_req_clear(&r);
    tb_store_close(s);
    tb_uri_free(&u);
    fflush(stdout);
    return rc;
}
