/* conf_edit.c: reversible single-insertion edits of configuration files and their state
 * file (see conf_edit.h). */
#include "cli/conf_edit.h"

#include "json/json.h"
#include "sys/buf.h"
#include "sys/parse.h"
#include "sys/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes data to path through a temporary file and rename, keeping the old mode. A
 * symlinked config (dotfiles kept in a repository) is written through to its target, so
 * the link stays a link. */
static int write_file(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    char real[PATH_MAX], tmp[PATH_MAX + 16];
    if (realpath(path, real))
        path = real;
    snprintf(tmp, sizeof tmp, "%s.headroom-tmp", path);
    struct stat sb;
    mode_t mode = stat(path, &sb) == 0 ? (sb.st_mode & 07777) : 0644;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int ok = fd >= 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (ok && fchmodat(AT_FDCWD, tmp, mode, 0) == 0 && rename(tmp, path) == 0)
        return 0;
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
}

static int add_edit(hr_conf_state *st, int kind, int created, size_t offset, const char *path,
                    const char *text)
{
    if (!st)
        return 0;
    if (HR_VEC_RESERVE(st->edits, st->cap, st->n + 1) != 0)
        return -1;
    hr_conf_edit *e = &st->edits[st->n];
    e->kind = kind;
    e->created = created;
    e->offset = offset;
    e->path = strdup(path);
    e->text = strdup(text ? text : "");
    if (!e->path || !e->text) {
        free(e->path);
        free(e->text);
        return -1;
    }
    st->n++;
    return 0;
}

int hr_conf_mkdirs(hr_conf_state *st, const char *dir)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return -1;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s)
            continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0755) == 0) {
            if (add_edit(st, HR_CONF_DIR, 1, 0, p, NULL) != 0)
                return -1;
        } else if (errno != EEXIST) {
            return -1;
        }
        *s = c;
        if (!c)
            return 0;
    }
}

static int parent_dirs(hr_conf_state *st, const char *path, char *err, size_t errlen)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = 0;
    if (hr_conf_mkdirs(st, dir) == 0)
        return 0;
    snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    return -1;
}

/* Inserts text at offset of the file's current content (old may be NULL: a new file). */
static int insert(hr_conf_state *st, const char *path, const char *old, size_t old_len,
                  size_t offset, const char *text, char *err, size_t errlen)
{
    hr_buf b = HR_BUF_INIT;
    int bad = hr_buf_append(&b, old ? old : "", offset);
    bad |= hr_buf_puts(&b, text);
    bad |= hr_buf_append(&b, old ? old + offset : "", old ? old_len - offset : 0);
    if (bad) {
        hr_buf_free(&b);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = write_file(path, b.data, b.len, err, errlen);
    hr_buf_free(&b);
    if (rc == 0 && add_edit(st, HR_CONF_FILE, old == NULL, offset, path, text) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return rc;
}

static int only_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return !*s;
}

int hr_conf_json_add(hr_conf_state *st, const char *path, const char *container,
                     const char *name, const char *value_json, char *err, size_t errlen)
{
    size_t len = 0;
    char *old = hr_buf_read_file(path, &len);
    hr_buf text = HR_BUF_INIT;
    int rc = -1;
    if (!old || only_space(old)) {
        hr_buf_printf(&text, "{\n  \"%s\": {\n    \"%s\": %s\n  }\n}\n", container, name,
                      value_json);
        rc = old ? 0 : parent_dirs(st, path, err, errlen);
        if (rc == 0)
            rc = insert(st, path, old, len, 0, text.data, err, errlen) == 0 ? 1 : -1;
        free(old);
        hr_buf_free(&text);
        return rc;
    }
    hr_json_doc d;
    hr_json_error je;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, old, len, &lim, &je) != 0) {
        snprintf(err, errlen, "%s is not valid JSON (%s); not changed", path, je.msg);
        free(old);
        return -1;
    }
    const hr_json_node *root = hr_json_at(&d, 0);
    uint32_t box = root && root->type == HR_JSON_OBJECT ? hr_json_get(&d, 0, container) : HR_JSON_NONE;
    const hr_json_node *bn = hr_json_at(&d, box);
    if (!root || root->type != HR_JSON_OBJECT || (bn && bn->type != HR_JSON_OBJECT)) {
        snprintf(err, errlen, "%s: \"%s\" is not a JSON object; not changed", path, container);
    } else if (bn && hr_json_get(&d, box, name) != HR_JSON_NONE) {
        rc = 0; /* already registered (by the user or an earlier run) */
    } else if (bn) {
        hr_buf_printf(&text, "\n    \"%s\": %s%s", name, value_json, bn->count ? "," : "");
        rc = insert(st, path, old, len, bn->start + 1, text.data, err, errlen) == 0 ? 1 : -1;
    } else {
        hr_buf_printf(&text, "\n  \"%s\": {\"%s\": %s}%s", container, name, value_json,
                      root->count ? "," : "");
        rc = insert(st, path, old, len, root->start + 1, text.data, err, errlen) == 0 ? 1 : -1;
    }
    hr_json_doc_free(&d);
    hr_buf_free(&text);
    free(old);
    return rc;
}

int hr_conf_text_append(hr_conf_state *st, const char *path, const char *block,
                        const char *present, char *err, size_t errlen)
{
    size_t len = 0;
    char *old = hr_buf_read_file(path, &len);
    if (old && strstr(old, present)) {
        free(old);
        return 0;
    }
    hr_buf text = HR_BUF_INIT;
    if (old && len && old[len - 1] != '\n')
        hr_buf_putc(&text, '\n');
    if (old && len)
        hr_buf_putc(&text, '\n'); /* a blank line before our block */
    hr_buf_puts(&text, block);
    int rc = old ? 0 : parent_dirs(st, path, err, errlen);
    if (rc == 0)
        rc = insert(st, path, old, len, len, text.data ? text.data : "", err, errlen);
    hr_buf_free(&text);
    free(old);
    return rc == 0 ? 1 : -1;
}

int hr_conf_file_create(hr_conf_state *st, const char *path, const char *content, char *err,
                        size_t errlen)
{
    if (access(path, F_OK) == 0)
        return 0;
    if (parent_dirs(st, path, err, errlen) != 0)
        return -1;
    return insert(st, path, NULL, 0, 0, content, err, errlen) == 0 ? 1 : -1;
}

/* The span of member `name` of object `container` with one adjoining comma, so removing
 * it leaves valid JSON. 0 found. */
static int member_span(const char *src, size_t len, const char *container, const char *name,
                       size_t *from, size_t *to)
{
    hr_json_doc d;
    hr_json_error je;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, src, len, &lim, &je) != 0)
        return -1;
    int rc = -1;
    uint32_t box = hr_json_at(&d, 0) && d.nodes[0].type == HR_JSON_OBJECT
                       ? hr_json_get(&d, 0, container) : HR_JSON_NONE;
    uint32_t m = hr_json_is(&d, box, HR_JSON_OBJECT)
                     ? hr_json_get(&d, box, name) : HR_JSON_NONE;
    if (m != HR_JSON_NONE) {
        size_t a = d.nodes[m].key_start, b = d.nodes[m].end;
        size_t j = b;
        while (j < len && strchr(" \t\r\n", src[j]))
            j++;
        if (j < len && src[j] == ',') {
            b = j + 1;
        } else {
            size_t i = a;
            while (i > 0 && strchr(" \t\r\n", src[i - 1]))
                i--;
            if (i > 0 && src[i - 1] == ',')
                a = i - 1;
        }
        *from = a;
        *to = b;
        rc = 0;
    }
    hr_json_doc_free(&d);
    return rc;
}

static int undo_file(const hr_conf_edit *e, const char *fb_container, const char *fb_name,
                     char *err, size_t errlen)
{
    size_t len = 0;
    char *cur = hr_buf_read_file(e->path, &len);
    if (!cur)
        return 0; /* gone already: nothing of ours left */
    size_t tl = strlen(e->text), from = 0, to = 0;
    const char *at = NULL;
    if (e->offset + tl <= len && memcmp(cur + e->offset, e->text, tl) == 0)
        at = cur + e->offset;
    else if (tl)
        at = strstr(cur, e->text);
    int rc = 0;
    if (at) {
        from = (size_t)(at - cur);
        to = from + tl;
    } else if (!fb_name || member_span(cur, len, fb_container, fb_name, &from, &to) != 0) {
        free(cur);
        return 0; /* the user removed it already */
    }
    if (e->created && from == 0 && to == len) {
        if (unlink(e->path) != 0) {
            snprintf(err, errlen, "cannot remove %s: %s", e->path, strerror(errno));
            rc = -1;
        }
    } else {
        hr_buf b = HR_BUF_INIT;
        int bad = hr_buf_append(&b, cur, from);
        bad |= hr_buf_append(&b, cur + to, len - to);
        rc = bad ? -1 : write_file(e->path, b.data ? b.data : "", b.len, err, errlen);
        hr_buf_free(&b);
    }
    free(cur);
    return rc;
}

int hr_conf_undo(const hr_conf_state *st, const char *fallback_container,
                 const char *fallback_name, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = st->n; i-- > 0;) {
        const hr_conf_edit *e = &st->edits[i];
        if (e->kind == HR_CONF_DIR)
            rmdir(e->path); /* only when empty: anything else in it is not ours */
        else if (undo_file(e, fallback_container, fallback_name, err, errlen) != 0)
            rc = -1;
    }
    return rc;
}

/* ---- state file: "file\t<created>\t<offset>\t<hex path>\t<hex text>" / "dir\t<hex path>" */

static void put_hex(hr_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        hr_buf_printf(b, "%02x", *p);
}

static char *get_hex(const char *s, size_t n)
{
    char *out = malloc(n / 2 + 1);
    if (!out || n % 2)
        return free(out), NULL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return free(out), NULL;
        out[i] = (char)v;
    }
    out[n / 2] = 0;
    return out;
}

int hr_conf_state_save(const hr_conf_state *st, const char *path)
{
    if (st->n == 0)
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    hr_buf b = HR_BUF_INIT;
    for (size_t i = 0; i < st->n; i++) {
        const hr_conf_edit *e = &st->edits[i];
        if (e->kind == HR_CONF_DIR) {
            hr_buf_puts(&b, "dir\t");
        } else {
            hr_buf_printf(&b, "file\t%d\t%zu\t", e->created, e->offset);
        }
        put_hex(&b, e->path);
        if (e->kind == HR_CONF_FILE) {
            hr_buf_putc(&b, '\t');
            put_hex(&b, e->text);
        }
        hr_buf_putc(&b, '\n');
    }
    char err[256];
    int rc = parent_dirs(NULL, path, err, sizeof err);
    if (rc == 0)
        rc = write_file(path, b.data ? b.data : "", b.len, err, sizeof err);
    hr_buf_free(&b);
    return rc;
}

static int load_line(hr_conf_state *st, char *line)
{
    char *f[5] = {0};
    int n = 0;
    for (char *p = line; n < 5 && p; n++) {
        f[n] = p;
        p = strchr(p, '\t');
        if (p)
            *p++ = 0;
    }
    char *path = NULL, *text = NULL;
    int rc = -1;
    if (n == 2 && !strcmp(f[0], "dir")) {
        path = get_hex(f[1], strlen(f[1]));
        rc = path ? add_edit(st, HR_CONF_DIR, 1, 0, path, NULL) : -1;
    } else if (n == 5 && !strcmp(f[0], "file")) {
        long created; /* a damaged line is refused, not read as 0 */
        uint64_t offset;
        path = get_hex(f[3], strlen(f[3]));
        text = get_hex(f[4], strlen(f[4]));
        rc = path && text && hr_parse_long(f[1], 0, 1, &created) == 0 &&
                     hr_parse_u64(f[2], SIZE_MAX, &offset) == 0
                 ? add_edit(st, HR_CONF_FILE, (int)created, (size_t)offset, path, text)
                 : -1;
    }
    free(path);
    free(text);
    return rc;
}

int hr_conf_state_load(hr_conf_state *st, const char *path)
{
    memset(st, 0, sizeof *st);
    char *data = hr_buf_read_file(path, NULL);
    if (!data)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    for (char *line = data, *nl; rc == 0 && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = 0;
        rc = load_line(st, line);
    }
    free(data);
    return rc;
}

void hr_conf_state_free(hr_conf_state *st)
{
    for (size_t i = 0; i < st->n; i++) {
        free(st->edits[i].path);
        free(st->edits[i].text);
    }
    free(st->edits);
    memset(st, 0, sizeof *st);
}
