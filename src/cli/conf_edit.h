/* conf_edit.h: reversible edits of other programs' configuration files (an agent's MCP
 * server list), for `headroom wrap` / `mcp install` and their undo.
 *
 * Every edit inserts one run of bytes and records exactly what and where (hr_conf_edit);
 * the undo removes those bytes, so a file wrap edited and unwrap restored is back byte for
 * byte, whatever else the user changed meanwhile outside the inserted run. Files we create
 * are deleted again when nothing but our bytes is left; directories we create are removed
 * when empty. Edits are recorded in a state file (one line each, the bytes hex-encoded) so
 * the undo works in a later process.
 *
 * A JSON file that does not parse, or whose member is not an object, is never rewritten
 * (it may hold unrelated state of the agent's); the caller reports the error.
 * Ownership: hr_conf_state owns its edits and their text; hr_conf_state_free.
 */
#ifndef HR_CLI_CONF_EDIT_H
#define HR_CLI_CONF_EDIT_H

#include <stddef.h>

typedef struct hr_conf_edit {
    int kind;      /* HR_CONF_FILE (inserted text) or HR_CONF_DIR (created directory) */
    int created;   /* the file did not exist before */
    size_t offset; /* where the text was inserted */
    char *path;
    char *text;
} hr_conf_edit;

enum { HR_CONF_FILE = 1, HR_CONF_DIR = 2 };

typedef struct hr_conf_state {
    hr_conf_edit *edits;
    size_t n, cap;
} hr_conf_state;

/* Adds "name": value_json to the object at top-level key `container` of the JSON file at
 * path (created with its parent directories when missing). 1 added (recorded in st), 0 a
 * member `name` is already there (nothing changed), -1 error (err filled). */
int hr_conf_json_add(hr_conf_state *st, const char *path, const char *container,
                     const char *name, const char *value_json, char *err, size_t errlen);

/* Appends block to the text file at path (created when missing) unless `present` already
 * occurs in it. Same return values. */
int hr_conf_text_append(hr_conf_state *st, const char *path, const char *block,
                        const char *present, char *err, size_t errlen);

/* Creates the file path holding content (parents too) unless it exists. Same returns. */
int hr_conf_file_create(hr_conf_state *st, const char *path, const char *content, char *err,
                        size_t errlen);

/* Undoes every recorded edit, last first. A file whose inserted text is no longer found as
 * written (the agent reformatted it) gets the JSON member `fallback_name` removed from
 * `fallback_container` instead, if it is there. 0 ok, -1 some edit could not be undone
 * (err names it; the others were still undone). */
int hr_conf_undo(const hr_conf_state *st, const char *fallback_container,
                 const char *fallback_name, char *err, size_t errlen);

/* State files. load: 0 ok (an absent file is an empty state), -1 unreadable. save writes
 * atomically; an empty state removes the file. */
int hr_conf_state_load(hr_conf_state *st, const char *path);
int hr_conf_state_save(const hr_conf_state *st, const char *path);
void hr_conf_state_free(hr_conf_state *st);

/* mkdir -p, recording each directory it creates in st (NULL: not recorded). 0 ok. */
int hr_conf_mkdirs(hr_conf_state *st, const char *dir);

#endif
