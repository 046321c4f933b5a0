/* commands: the specs each cmd/NAME.c defines; cmd/main.c's table lists them. */
#ifndef TB_COMMANDS_H
#define TB_COMMANDS_H
#include "opts.h"
/* extern const struct tb_cmd_spec tb_cmd_NAME; one line per built command */
extern const struct tb_cmd_spec tb_cmd_split;
extern const struct tb_cmd_spec tb_cmd_manifest;
extern const struct tb_cmd_spec tb_cmd_discover;
extern const struct tb_cmd_spec tb_cmd_cat;
extern const struct tb_cmd_spec tb_cmd_shard;
extern const struct tb_cmd_spec tb_cmd_upload;
extern const struct tb_cmd_spec tb_cmd_presign;
extern const struct tb_cmd_spec tb_cmd_sync;
extern const struct tb_cmd_spec tb_cmd_vast;
extern const struct tb_cmd_spec tb_cmd_job;
#endif
