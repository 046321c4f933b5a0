/* opts: table-driven option parsing, --help text and completion scripts. */
#include "opts.h"
#include "alloc.h"
#include "err.h"
#include "progress.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tb_opts_init(struct tb_optparse *p, const struct tb_cmd_spec *spec, int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->spec = spec;
    p->argc = argc;
    p->argv = argv;
    p->i = 1;
    p->pos = tb_xcalloc((size_t)argc + 1, sizeof *p->pos);
}

void tb_opts_free(struct tb_optparse *p)
{
    free(p->pos);
    p->pos = NULL;
}

int tb_opts_exit(int r) { return r == TB_OPTS_HELP ? 0 : TB_EUSAGE; }

static const struct tb_opt *find_long(const struct tb_opt *o, const char *name, size_t n, int *ambiguous)
{
    const struct tb_opt *prefix = NULL;
    int nprefix = 0;
    for (; o && o->id; o++) {
        if (!o->lng) continue;
        if (strlen(o->lng) == n && strncmp(o->lng, name, n) == 0) return o;
        if (strncmp(o->lng, name, n) == 0) { prefix = o; nprefix++; }
    }
    *ambiguous = nprefix > 1;
    return nprefix == 1 ? prefix : NULL;
}

static int opt_optional(const struct tb_opt *o) { return o->arg && o->arg[0] == '['; }

int tb_opts_next(struct tb_optparse *p)
{
    const char *cmd = p->spec->name;
    p->arg = NULL;
    if (p->shortrest && *p->shortrest) goto shortopt;
    p->shortrest = NULL;
    while (p->i < p->argc) {
        char *a = p->argv[p->i];
        if (p->only_pos || a[0] != '-' || a[1] == 0) {
            p->pos[p->npos++] = a;
            p->i++;
            continue;
        }
        p->i++;
        if (strcmp(a, "--") == 0) { p->only_pos = 1; continue; }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            if (n == 4 && strncmp(name, "help", 4) == 0 && !eq) {
                tb_help_print(p->spec, stdout);
                return TB_OPTS_HELP;
            }
            int amb = 0;
            const struct tb_opt *o = find_long(p->spec->opts, name, n, &amb);
            if (!o) {
                tb_usage(cmd, amb ? "ambiguous option '--%.*s'" : "unknown option '--%.*s'", (int)n, name);
                return TB_OPTS_ERROR;
            }
            p->name = o->lng;
            if (!o->arg) {
                if (eq) { tb_usage(cmd, "option '--%s' takes no argument", o->lng); return TB_OPTS_ERROR; }
                return o->id;
            }
            if (eq) { p->arg = (char *)eq + 1; return o->id; }
            if (opt_optional(o)) return o->id;
            if (p->i >= p->argc) { tb_usage(cmd, "option '--%s' needs an argument (%s)", o->lng, o->arg); return TB_OPTS_ERROR; }
            p->arg = p->argv[p->i++];
            return o->id;
        }
        p->shortrest = a + 1;
        goto shortopt;
    }
    return 0;
shortopt: {
        char c = *p->shortrest++;
        if (c == 'h' ) {
            int has_h = 0;
            for (const struct tb_opt *o = p->spec->opts; o && o->id; o++) if (o->shrt == 'h') has_h = 1;
            if (!has_h) { tb_help_print(p->spec, stdout); p->shortrest = NULL; return TB_OPTS_HELP; }
        }
        const struct tb_opt *o = p->spec->opts;
        for (; o && o->id; o++) if (o->shrt && o->shrt == c) break;
        if (!o || !o->id) { tb_usage(cmd, "unknown option '-%c'", c); p->shortrest = NULL; return TB_OPTS_ERROR; }
        p->name = o->lng ? o->lng : "";
        if (!o->arg) return o->id;
        if (*p->shortrest) { p->arg = (char *)p->shortrest; p->shortrest = NULL; return o->id; }
        p->shortrest = NULL;
        if (opt_optional(o)) return o->id;
        if (p->i >= p->argc) { tb_usage(cmd, "option '-%c' needs an argument (%s)", c, o->arg); return TB_OPTS_ERROR; }
        p->arg = p->argv[p->i++];
        return o->id;
    }
}

void tb_help_print(const struct tb_cmd_spec *spec, FILE *out)
{
    const char *s = spec->synopsis ? spec->synopsis : "[OPTIONS]";
    int first = 1;
    while (*s) {
        size_t n = strcspn(s, "\n");
        fprintf(out, "%s trainbox %s %.*s\n", first ? "Usage:" : "      ", spec->name, (int)n, s);
        first = 0;
        s += n;
        if (*s) s++;
    }
    fprintf(out, "\n%s.\n", spec->summary);
    if (spec->description) fprintf(out, "\n%s\n", spec->description);
    fprintf(out, "\nOptions:\n");
    for (const struct tb_opt *o = spec->opts; o && o->id; o++) {
        char left[128];
        int n = 0;
        if (o->shrt) n += snprintf(left + n, sizeof left - n, "-%c%s", o->shrt, o->lng ? ", " : "");
        else n += snprintf(left + n, sizeof left - n, "    ");
        if (o->lng) n += snprintf(left + n, sizeof left - n, "--%s", o->lng);
        if (o->arg && opt_optional(o)) snprintf(left + n, sizeof left - n, "[=%.*s]", (int)strlen(o->arg) - 2, o->arg + 1);
        else if (o->arg) snprintf(left + n, sizeof left - n, " %s", o->arg);
        if (strlen(left) <= 26) fprintf(out, "  %-26s %s\n", left, o->help);
        else fprintf(out, "  %s\n  %-26s %s\n", left, "", o->help);
    }
    fprintf(out, "  %-26s %s\n", "-h, --help", "show this help and exit");
    fprintf(out, "\nSee trainbox-%s(1) for details and exit codes.\n", spec->name);
}

int tb_parse_u64(const char *s, unsigned long long *out)
{
    if (!s || !*s || !isdigit((unsigned char)*s)) return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int tb_parse_size(const char *s, unsigned long long *out)
{
    if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.')) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || v < 0) return -1;
    static const struct { const char *suf; double mul; } sufs[] = {
        {"", 1}, {"b", 1}, {"B", 1},
        {"k", 1e3}, {"K", 1e3}, {"kB", 1e3}, {"KB", 1e3}, {"KiB", 1024.0}, {"Ki", 1024.0},
        {"M", 1e6}, {"MB", 1e6}, {"MiB", 1048576.0}, {"Mi", 1048576.0},
        {"G", 1e9}, {"GB", 1e9}, {"GiB", 1073741824.0}, {"Gi", 1073741824.0},
        {"T", 1e12}, {"TB", 1e12}, {"TiB", 1099511627776.0}, {"Ti", 1099511627776.0},
    };
    for (size_t i = 0; i < sizeof sufs / sizeof sufs[0]; i++) {
        if (strcmp(end, sufs[i].suf) == 0) {
            double r = v * sufs[i].mul;
            if (r > 1.8e19) return -1;
            *out = (unsigned long long)(r + 0.5);
            return 0;
        }
    }
    return -1;
}

int tb_opt_u64(const struct tb_optparse *p, unsigned long long *out)
{
    if (tb_parse_u64(p->arg, out) == 0) return 0;
    return tb_usage(p->spec->name, "option '--%s' wants a non-negative integer, not '%s'", p->name, p->arg ? p->arg : "");
}

int tb_opt_size(const struct tb_optparse *p, unsigned long long *out)
{
    if (tb_parse_size(p->arg, out) == 0) return 0;
    return tb_usage(p->spec->name, "option '--%s' wants a size such as 64MiB or 1G, not '%s'", p->name, p->arg ? p->arg : "");
}

int tb_opt_max_line(const struct tb_optparse *p, unsigned long long *out)
{
    if (tb_opt_size(p, out)) return TB_EUSAGE;
    if (*out == 0 || *out > (1ull << 40))
        return tb_usage(p->spec->name, "option '--%s' wants a size from 1 byte to 1TiB, not '%s'", p->name, p->arg);
    return 0;
}

int tb_opt_choice(const struct tb_optparse *p, const char *const *choices, int *out)
{
    for (int i = 0; choices[i]; i++)
        if (p->arg && strcmp(p->arg, choices[i]) == 0) { *out = i; return 0; }
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, choices[i], sizeof list - strlen(list) - 1);
    }
    return tb_usage(p->spec->name, "option '--%s' wants one of %s, not '%s'", p->name, list, p->arg ? p->arg : "");
}

int tb_common_opt(const struct tb_optparse *p, int id, struct tb_common_cfg *c)
{
    (void)p;
    switch (id) {
    case TB_OPT_QUIET: c->quiet = 1; c->verbose = 0; return 1;
    case TB_OPT_VERBOSE: c->verbose = 1; c->quiet = 0; return 1;
    }
    return 0;
}

int tb_common_progress(const struct tb_common_cfg *c, int mode) { return c->quiet ? TB_PROGRESS_NONE : mode; }

/* ---- completions ---- */

static void bash_words(const struct tb_cmd_spec *c, FILE *out)
{
    for (const struct tb_opt *o = c->opts; o && o->id; o++) {
        if (o->lng) fprintf(out, " --%s%s", o->lng, o->arg && !opt_optional(o) ? "" : "");
        if (o->shrt) fprintf(out, " -%c", o->shrt);
    }
    fprintf(out, " --help");
}

static const char *kind_of(const struct tb_opt *o)
{
    if (!o->arg) return NULL;
    return o->complete ? o->complete : "";
}

void tb_completion_print(const char *shell, const struct tb_cmd_spec *const *cmds, int n, FILE *out)
{
    if (strcmp(shell, "bash") == 0) {
        fprintf(out, "# bash completion for trainbox (generated by `trainbox --completion bash`)\n");
        fprintf(out, "_trainbox() {\n  local cur prev cmd i\n  cur=${COMP_WORDS[COMP_CWORD]}\n"
                     "  prev=${COMP_WORDS[COMP_CWORD-1]}\n  cmd=${COMP_WORDS[0]##*/}\n"
                     "  case $cmd in trainbox-*) cmd=${cmd#trainbox-} ;; *) cmd= ;; esac\n"
                     "  if [ -z \"$cmd\" ]; then\n    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
                     "      COMPREPLY=($(compgen -W \"");
        for (int i = 0; i < n; i++) fprintf(out, "%s%s", i ? " " : "", cmds[i]->name);
        fprintf(out, " help --help --version\" -- \"$cur\"))\n      return\n    fi\n    cmd=${COMP_WORDS[1]}\n  fi\n");
        fprintf(out, "  case \"$cmd:$prev\" in\n");
        for (int i = 0; i < n; i++) {
            for (const struct tb_opt *o = cmds[i]->opts; o && o->id; o++) {
                const char *k = kind_of(o);
                if (!k || opt_optional(o)) continue;
                fprintf(out, "    %s:", cmds[i]->name);
                if (o->lng) fprintf(out, "--%s", o->lng);
                if (o->lng && o->shrt) fprintf(out, "|%s:", cmds[i]->name);
                if (o->shrt) fprintf(out, "-%c", o->shrt);
                if (strcmp(k, "file") == 0) fprintf(out, ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n");
                else if (strcmp(k, "dir") == 0) fprintf(out, ") COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n");
                else if (strcmp(k, "cmd") == 0) fprintf(out, ") COMPREPLY=($(compgen -c -- \"$cur\")); return ;;\n");
                else if (*k) fprintf(out, ") COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n", k);
                else fprintf(out, ") COMPREPLY=(); return ;;\n");
            }
        }
        fprintf(out, "  esac\n  case $cmd in\n");
        for (int i = 0; i < n; i++) {
            fprintf(out, "    %s) COMPREPLY=($(compgen -W \"", cmds[i]->name);
            bash_words(cmds[i], out);
            fprintf(out, "\" -- \"$cur\")) ;;\n");
        }
        fprintf(out, "    help) COMPREPLY=($(compgen -W \"");
        for (int i = 0; i < n; i++) fprintf(out, "%s%s", i ? " " : "", cmds[i]->name);
        fprintf(out, "\" -- \"$cur\")) ;;\n  esac\n");
        fprintf(out, "  case $cur in -*) ;; *) COMPREPLY+=($(compgen -f -- \"$cur\")) ;; esac\n}\n");
        fprintf(out, "complete -F _trainbox trainbox");
        for (int i = 0; i < n; i++) fprintf(out, " trainbox-%s", cmds[i]->name);
        fprintf(out, "\n");
    } else if (strcmp(shell, "zsh") == 0) {
        fprintf(out, "#compdef trainbox");
        for (int i = 0; i < n; i++) fprintf(out, " trainbox-%s", cmds[i]->name);
        fprintf(out, "\n# zsh completion for trainbox (generated by `trainbox --completion zsh`)\n");
        for (int i = 0; i < n; i++) {
            fprintf(out, "_trainbox_%s() {\n  _arguments -s \\\n", cmds[i]->name);
            for (const struct tb_opt *o = cmds[i]->opts; o && o->id; o++) {
                const char *k = kind_of(o);
                const char *act = !k ? "" : strcmp(k, "file") == 0 ? ":file:_files" : strcmp(k, "dir") == 0 ? ":dir:_files -/"
                                  : strcmp(k, "cmd") == 0 ? ":command:_command_names" : ":value:";
                char words[256] = "";
                if (k && *k && strcmp(k, "file") && strcmp(k, "dir") && strcmp(k, "cmd"))
                    snprintf(words, sizeof words, ":value:(%s)", k);
                char help[256];
                size_t hl = 0;
                for (const char *h = o->help; *h && hl < sizeof help - 2; h++) {
                    if (*h == '[' || *h == ']' || *h == '\'' || *h == ':') help[hl++] = ' ';
                    else help[hl++] = *h;
                }
                help[hl] = 0;
                if (o->lng) fprintf(out, "    '--%s%s[%s]%s' \\\n", o->lng, o->arg && !opt_optional(o) ? "=" : "", help, *words ? words : act);
                if (o->shrt) fprintf(out, "    '-%c[%s]%s' \\\n", o->shrt, help, *words ? words : act);
            }
            fprintf(out, "    '--help[show help]' \\\n    '*:file:_files'\n}\n");
        }
        fprintf(out, "_trainbox() {\n  local svc=${service#trainbox-}\n  if [[ $service == trainbox-* ]]; then _trainbox_$svc; return; fi\n"
                     "  if (( CURRENT == 2 )); then\n    local -a cmds\n    cmds=(\n");
        for (int i = 0; i < n; i++) fprintf(out, "      '%s:%s'\n", cmds[i]->name, cmds[i]->summary);
        fprintf(out, "      'help:show help for a command'\n    )\n    _describe command cmds\n  else\n"
                     "    shift words; (( CURRENT-- ))\n    local c=${words[1]}\n"
                     "    (( $+functions[_trainbox_$c] )) && _trainbox_$c\n  fi\n}\n_trainbox \"$@\"\n");
    } else if (strcmp(shell, "fish") == 0) {
        fprintf(out, "# fish completion for trainbox (generated by `trainbox --completion fish`)\n");
        fprintf(out, "set -l tb_cmds");
        for (int i = 0; i < n; i++) fprintf(out, " %s", cmds[i]->name);
        fprintf(out, "\ncomplete -c trainbox -f -n \"not __fish_seen_subcommand_from $tb_cmds help\" -a help -d 'show help for a command'\n");
        for (int i = 0; i < n; i++) {
            fprintf(out, "complete -c trainbox -f -n \"not __fish_seen_subcommand_from $tb_cmds help\" -a %s -d '", cmds[i]->name);
            for (const char *h = cmds[i]->summary; *h; h++) fputs(*h == '\'' ? "\\'" : (char[]){*h, 0}, out);
            fprintf(out, "'\n");
            for (const struct tb_opt *o = cmds[i]->opts; o && o->id; o++) {
                const char *k = kind_of(o);
                fprintf(out, "complete -c trainbox -n '__fish_seen_subcommand_from %s'", cmds[i]->name);
                if (o->lng) fprintf(out, " -l %s", o->lng);
                if (o->shrt) fprintf(out, " -s %c", o->shrt);
                if (k && !opt_optional(o)) {
                    if (strcmp(k, "file") == 0 || strcmp(k, "dir") == 0) fprintf(out, " -r -F");
                    else if (strcmp(k, "cmd") == 0) fprintf(out, " -x -a '(__fish_complete_command)'");
                    else if (*k) fprintf(out, " -x -a '%s'", k);
                    else fprintf(out, " -x");
                }
                fprintf(out, " -d '");
                for (const char *h = o->help; *h; h++) fputs(*h == '\'' ? "\\'" : (char[]){*h, 0}, out);
                fprintf(out, "'\n");
            }
        }
    }
}
