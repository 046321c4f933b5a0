/* creds: where S3-style credentials come from, in the order awscli looks:
 *   s3://  AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else the profile
 *          AWS_PROFILE (default "default") in AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials
 *          (aws_access_key_id, aws_secret_access_key, aws_session_token); region from AWS_REGION,
 *          AWS_DEFAULT_REGION, the profile in AWS_CONFIG_FILE or ~/.aws/config, else us-east-1.
 *   r2://  R2_ACCESS_KEY_ID + R2_SECRET_ACCESS_KEY, else the AWS chain; region "auto".
 *   gs://  GS_ACCESS_KEY_ID + GS_SECRET_ACCESS_KEY (HMAC keys), else the AWS chain; region "auto".
 * Never from the command line. */
#ifndef TB_CREDS_H
#define TB_CREDS_H
#include "err.h"
#include "uri.h"

struct tb_creds {
    char *access_key, *secret_key, *token, *region;
    char source[96]; /* where they came from, for messages ("environment", "profile default") */
};

/* Fill c for the scheme (S3, R2 or GS). Missing credentials: TB_ENOPERM with a message naming the
 * variables to set. */
int tb_creds_load(enum tb_scheme scheme, struct tb_creds *c, tb_err *e);
/* The same with --profile: a non-empty profile is used instead of AWS_PROFILE and, as awscli's
 * --profile does, instead of AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY too (R2_ and GS_ keys still
 * come first for r2:// and gs://). NULL or "": tb_creds_load. */
int tb_creds_load_profile(enum tb_scheme scheme, const char *profile, struct tb_creds *c, tb_err *e);
void tb_creds_free(struct tb_creds *c);
#endif
