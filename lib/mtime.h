/* mtime: a file's modification time as object metadata, in the forms rclone reads and writes, so
 * rclone and trainbox each see the other's uploads as current.
 *   S3 (X-Amz-Meta-Mtime; rclone's backend/s3 via ncw/swift's TimeToFloatString): decimal seconds
 *   since the epoch, the nanoseconds as a fraction with its trailing zeros trimmed and no point when
 *   none are left: 1735776000, 1735776000.5, 1735776000.123456789, -1.5 (before 1970: the sign, then
 *   the magnitude). This is the form lib/store's meta_mtime fields carry for every backend.
 *   Azure (x-ms-meta-mtime; rclone's backend/azureblob): RFC 3339 in UTC with nine fraction digits,
 *   2025-01-02T00:00:00.000000000Z. store_azure converts between the two on the wire.
 * Parsing is strict: anything but the form (spaces, exponents, a second point, nothing at all, a
 * value whose nanoseconds do not fit in 64 bits, as rclone's parser also refuses) is -1. */
#ifndef TB_MTIME_H
#define TB_MTIME_H
#include <stddef.h>
#include <time.h>

#define TB_MTIME_MAX 32 /* the longest of either form, with its NUL */

/* Write t (tv_nsec in 0..999999999) as decimal seconds into out; returns the length. */
size_t tb_mtime_format(const struct timespec *t, char out[TB_MTIME_MAX]);
/* Parse decimal seconds ("[+-]DIGITS[.DIGITS]", at least one digit; fraction digits past the ninth
 * are dropped, as rclone drops them). 0, or -1 for anything else. */
int tb_mtime_parse(const char *s, struct timespec *t);

/* Azure's form: "YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ" (UTC). Returns the length. */
size_t tb_mtime_format_rfc3339(const struct timespec *t, char out[TB_MTIME_MAX]);
/* RFC 3339 as rclone's time.Parse accepts it: a fraction of any length (or none), then Z or an
 * offset +HH:MM / -HH:MM. 0, or -1. */
int tb_mtime_parse_rfc3339(const char *s, struct timespec *t);
#endif
