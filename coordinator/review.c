/* review.c — helpers the review unit kinds share (sf_review.h): they read what the delivering
 * units (assemble, master) recorded in RUNDIR/out/.units/ rather than recomputing file names,
 * because a file's version (`_v2`) is only known once its unit has run. */
#define _POSIX_C_SOURCE 200809L
#include "sf_review.h"
#include "sf_build_info.h"
#include "sf_file.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_plan.h"
#include "sf_render.h"
#include "sf_status.h"
#include "sf_unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int sf_review_load_json(const char *path, char **text, struct sf_json_doc **doc)
{
    char err[160];
    size_t len = 0;
    *text = NULL;
    *doc = NULL;
    int st = sf_file_read_all(path, 256u << 20, text, &len);
    if (st) return st; /* logged with the path */
    if (!(*doc = sf_json_parse(*text, len, err, sizeof err))) {
        SF_ERROR("review", "%s: %s; the run directory is damaged (render writes it durably: was "
                 "it edited?); run the same render again", path, err);
        free(*text);
        *text = NULL;
        return SF_E_FORMAT;
    }
    return SF_OK;
}

/* The files of a record's root object into files[0..*n). */
static int files_of(const char *record, const struct sf_json *root, struct sf_review_file *files,
                    int *n)
{
    const struct sf_json *fl = sf_json_get(root, "files");
    *n = 0;
    for (size_t i = 0; fl && fl->type == SF_JSON_ARRAY && i < fl->n && *n < SF_REVIEW_MAX_FILES;
         i++) {
        const struct sf_json *e = fl->items[i];
        struct sf_review_file *f = &files[*n];
        const char *path = sf_json_get_str(e, "path"), *name = sf_json_get_str(e, "name");
        const char *codec = sf_json_get_str(e, "codec"), *lang = sf_json_get_str(e, "language");
        int64_t version = 0, frames = 0;
        if (!path || !name || !codec || !lang || sf_json_get_int(e, "version", &version) ||
            sf_json_get_int(e, "frames", &frames)) {
            SF_ERROR("review", "%s: file %zu lacks path, name, codec, language, version or "
                     "frames; run the same render again", record, i);
            return SF_E_FORMAT;
        }
        memset(f, 0, sizeof *f);
        snprintf(f->path, sizeof f->path, "%s", path);
        snprintf(f->name, sizeof f->name, "%s", name);
        f->version = (int)version;
        f->frames = frames;
        f->codec = SF_CODEC_COUNT;
        for (int c = 0; c < SF_CODEC_COUNT; c++)
            if (strcmp(codec, sf_codec_name((enum sf_codec)c)) == 0) f->codec = (enum sf_codec)c;
        for (int l = 0; l < SF_LANG_COUNT; l++)
            if (strcmp(lang, sf_lang_name((enum sf_lang)l)) == 0) f->lang = (enum sf_lang)l;
        if (f->codec == SF_CODEC_COUNT) {
            SF_ERROR("review", "%s: file %zu has an unknown codec \"%s\"", record, i, codec);
            return SF_E_FORMAT;
        }
        (*n)++;
    }
    if (*n == 0) {
        SF_ERROR("review", "%s: lists no file; run the same render again", record);
        return SF_E_FORMAT;
    }
    return SF_OK;
}

int sf_review_load_files(const char *record, struct sf_review_file *files, int *n)
{
    char *text = NULL;
    struct sf_json_doc *doc = NULL;
    *n = 0;
    int st = sf_review_load_json(record, &text, &doc);
    if (st == SF_OK) st = files_of(record, sf_json_root(doc), files, n);
    sf_json_free(doc);
    free(text);
    return st;
}

int sf_review_read_record(const struct sf_render_job *j, struct sf_review_file *files, int *n)
{
    char *text = NULL;
    struct sf_json_doc *doc = NULL;
    *n = 0;
    int st = sf_review_load_json(j->out, &text, &doc);
    if (st) {
        SF_ERROR("review", "%s: the record of %s is missing or damaged; run the same render "
                 "again (its unit writes it anew)", j->out, j->name);
        return SF_E_FORMAT;
    }
    const char *key = sf_json_get_str(sf_json_root(doc), "key");
    if (!key || strcmp(key, j->key) != 0) {
        SF_ERROR("review", "%s: made for other inputs than %s; run the same render again",
                 j->out, j->name);
        st = SF_E_FORMAT;
    } else {
        st = files_of(j->out, sf_json_root(doc), files, n);
    }
    sf_json_free(doc);
    free(text);
    return st;
}

int sf_review_find_spot(const struct sf_plan_builder *b, int sequence, int aspect, int length)
{
    for (int i = 0; i < b->p->n_units; i++) {
        const struct sf_plan_unit *u = &b->p->units[i];
        if (u->kind == &sf_unit_assemble && u->sequence == sequence && u->aspect == aspect &&
            u->length == length)
            return i;
    }
    return -1;
}

int sf_review_write_record(const struct sf_render_job *j, const char *const *paths, int n,
                           void (*extra)(struct sf_jw *w, void *arg), void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    int st = sf_render_mkdirs(j->out, 1);
    if (st) return st;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return SF_E_NOMEM;
    struct sf_jw w;
    sf_jw_init(&w, f, 2);
    sf_jw_obj_begin(&w);
    sf_jw_key(&w, "unit"), sf_jw_str(&w, j->name);
    sf_jw_key(&w, "key"), sf_jw_str(&w, j->key);
    sf_jw_key(&w, "files"), sf_jw_arr_begin(&w);
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (stat(paths[i], &sb) != 0) {
            fclose(f);
            free(buf);
            SF_ERROR("review", "%s: written a moment ago and gone; check the disk", paths[i]);
            return SF_E_IO;
        }
        sf_jw_obj_begin(&w);
        sf_jw_key(&w, "path"), sf_jw_str(&w, paths[i]);
        sf_jw_key(&w, "bytes"), sf_jw_int(&w, (int64_t)sb.st_size);
        sf_jw_obj_end(&w);
    }
    sf_jw_arr_end(&w);
    if (extra) extra(&w, arg);
    sf_jw_obj_end(&w);
    sf_jw_finish(&w);
    if (fclose(f) != 0) {
        free(buf);
        return SF_E_NOMEM;
    }
    st = sf_file_write_atomic(j->out, buf, len);
    free(buf);
    return st;
}

void sf_review_disclosure(const struct sf_render_setup *s, char *buf, size_t n)
{
    snprintf(buf, n,
             "AI-generated video: every picture was made by a video diffusion model (Wan2.1 "
             "architecture) with shotfarm %s (commit %s); model files sha256: transformer %s, "
             "vae %s, text encoder %s",
             SF_VERSION, SF_GIT_COMMIT, s->dit_key, s->vae_key, s->text_key);
}

void sf_review_alive(void *arg, int64_t done)
{
    const struct sf_render_report *r = arg;
    if (r->step) r->step(r->arg, (int)done, 0);
}
