/* shquote: a string as one word for sh, in single quotes (every byte literal; a quote as '\''). */
#ifndef TB_SHQUOTE_H
#define TB_SHQUOTE_H
/* malloc'd. */
char *tb_shquote(const char *s);
#endif
