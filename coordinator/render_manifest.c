/* render_manifest.c — RUNDIR/manifest.json (render_internal.h, docs/render.md § Run directory):
 * the command, the plan's units with their keys, outputs and dependencies, the launch's
 * identity (what resume compares), every input file with its SHA-256, and the determinism
 * domain of every rank. Called by cmd_render.c on rank 0 before any unit runs; written durably
 * (temp file, fsync, rename).
 * The subtle thing: a model component's key hashes its files by path relative to the model
 * directory, so a moved model keeps its keys and its finished units. */
#define _GNU_SOURCE
#include "render_internal.h"
#include "sf_build_info.h"
#include "sf_campaign.h"
#include "sf_comm.h"
#include "sf_errors.h"
#include "sf_file.h"
#include "sf_hash.h"
#include "sf_json.h"
#include "sf_ops.h"
#include "sf_log.h"
#include "sf_status.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

/* ---- input hashes ------------------------------------------------------------------------ */

static int add_input(struct sf_render_inputs *in, const char *path)
{
    if (in->n == in->cap) {
        int nc = in->cap ? 2 * in->cap : 64;
        struct sf_render_input *nv = realloc(in->v, (size_t)nc * sizeof *nv);
        if (!nv) return SF_E_NOMEM;
        in->v = nv;
        in->cap = nc;
    }
    struct sf_render_input *e = &in->v[in->n];
    snprintf(e->path, sizeof e->path, "%s", path);
    uint8_t d[SF_SHA256_BYTES];
    int st = sf_sha256_file(path, d);
    if (st) return st;
    sf_sha256_hex(d, e->sha);
    struct stat sb;
    e->bytes = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    in->n++;
    return SF_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every regular file under dir (recursively, sorted by name). */
static int add_tree(struct sf_render_inputs *in, const char *dir)
{
    int st = SF_OK;
    DIR *d = opendir(dir);
    if (!d) return sf_err_errno(errno, "open the model directory", dir);
    char **names = NULL;
    int n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) {
                st = SF_E_NOMEM;
                goto out;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = SF_E_NOMEM;
            goto out;
        }
        n++;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && st == SF_OK; i++) {
        char p[SF_RENDER_PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(p, &sb) != 0) continue;
        st = S_ISDIR(sb.st_mode) ? add_tree(in, p) : S_ISREG(sb.st_mode) ? add_input(in, p) : SF_OK;
    }
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return st;
}

/* A model component's key: the files of its folder (sub, e.g. "text_encoder/") when the
 * pipeline has one, else every model file, plus `extra` (the tokenizer for the text encoder).
 * Paths are hashed relative to the model directory, so a moved model keeps its keys. */
static void component_key(const struct sf_render_inputs *in, const char *model, const char *sub,
                          const char *extra, char hex[SF_SHA256_HEX])
{
    char dir[SF_RENDER_PATH_MAX], version[64];
    snprintf(dir, sizeof dir, "%s/%s", model, sub);
    int any = 0;
    for (int i = 0; i < in->n; i++)
        any |= strncmp(in->v[i].path, dir, strlen(dir)) == 0;
    struct sf_canon c;
    uint8_t d[SF_SHA256_BYTES];
    snprintf(version, sizeof version, "shotfarm.%.*s.v1", (int)strcspn(sub, "/"), sub);
    sf_canon_begin(&c, version);
    for (int i = 0; i < in->n; i++) {
        const char *p = in->v[i].path;
        int is_model = strncmp(p, model, strlen(model)) == 0;
        if ((any && strncmp(p, dir, strlen(dir)) == 0) || (!any && is_model) ||
            (extra && strcmp(p, extra) == 0))
            sf_canon_str(&c, p + (is_model ? strlen(model) : 0), in->v[i].sha);
    }
    sf_canon_end(&c, d);
    sf_sha256_hex(d, hex);
}


int sf_render_inputs_hash(const struct sf_campaign *c, const char *campaign_path,
                          const struct sf_render_setup *s, struct sf_render_inputs *in,
                          char keys[3][SF_SHA256_HEX])
{
    int st = SF_OK;
    SF_TRY(st, add_input(in, campaign_path));
    for (int e = 0; e < sf_campaign_n_elements(c); e++) {
        const struct sf_element *el = sf_campaign_element(c, e);
        for (int r = 0; r < el->n_refs; r++)
            SF_TRY(st, add_input(in, el->refs[r]));
        if (el->clip) SF_TRY(st, add_input(in, el->clip));
    }
    SF_TRY(st, add_tree(in, s->model_dir));
    int have_tok = 0;
    for (int i = 0; i < in->n; i++)
        have_tok |= strcmp(in->v[i].path, s->tokenizer) == 0;
    if (!have_tok) {
        if (access(s->tokenizer, R_OK) != 0) {
            SF_ERROR("render",
                     "%s: no tokenizer there; pass --tokenizer FILE (e.g. "
                     "examples/models/tokenizer.json for mkmodel's tiny pipelines)",
                     s->tokenizer);
            st = SF_E_NOTFOUND;
            goto out;
        }
        SF_TRY(st, add_input(in, s->tokenizer));
    }
    component_key(in, s->model_dir, "text_encoder/", s->tokenizer, keys[0]);
    component_key(in, s->model_dir, "transformer/", NULL, keys[1]);
    component_key(in, s->model_dir, "vae/", NULL, keys[2]);
out:
    return st;
}

void sf_render_inputs_fini(struct sf_render_inputs *in)
{
    free(in->v);
    memset(in, 0, sizeof *in);
}

/* ---- manifest --------------------------------------------------------------------------- */

static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + (v[1] == ' ');
                v[strcspn(v, "\n")] = '\0';
                snprintf(buf, n, "%s", v);
            }
            break;
        }
    }
    fclose(f);
}


void sf_render_domain_local(struct sf_render_domain *d)
{
    memset(d, 0, sizeof *d);
    cpu_model(d->cpu, sizeof d->cpu);
    snprintf(d->simd, sizeof d->simd, "%s", sf_cpu_simd_path());
    snprintf(d->blas, sizeof d->blas, "%s", openblas_get_corename());
}

void sf_render_manifest_plan(const struct sf_json *manifest, struct sf_render_planned *p)
{
    const struct sf_json *plan = sf_json_get(manifest, "plan");
    const struct sf_json *mk = sf_json_get(plan, "makespan_seconds");
    const char *prof = sf_json_get_str(plan, "profile");
    p->makespan = mk && mk->type == SF_JSON_NUMBER ? mk->number : -1;
    snprintf(p->profile, sizeof p->profile, "%s", prof && prof[0] ? prof : "?");
    for (size_t i = 0; i < sizeof p->label; i++)
        p->label[i] = (char)toupper((unsigned char)p->profile[i]);
}

int sf_render_manifest_write(const struct sf_render_opts *o, const struct sf_render_setup *s,
                             const struct sf_world *w, const struct sf_render_inputs *in,
                             const struct sf_render_domain *doms,
                             const struct sf_render_identity *id, int attempt, int argc,
                             char **argv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return SF_E_NOMEM;
    struct sf_jw j;
    sf_jw_init(&j, f, 2);
    sf_jw_obj_begin(&j);
    sf_jw_key(&j, "format"), sf_jw_str(&j, "shotfarm.run.v1");
    sf_jw_key(&j, "shotfarm"), sf_jw_str(&j, SF_VERSION " (" SF_GIT_COMMIT ")");
    sf_jw_key(&j, "command"), sf_jw_arr_begin(&j);
    for (int i = 0; i < argc; i++)
        sf_jw_str(&j, argv[i]);
    sf_jw_arr_end(&j);
    sf_jw_key(&j, "created"), sf_jw_num(&j, sf_render_wall_now());
    sf_jw_key(&j, "attempt"), sf_jw_int(&j, attempt);
    sf_jw_key(&j, "identity"), sf_render_identity_json(&j, id);
    sf_jw_key(&j, "checkpoints"), sf_jw_obj_begin(&j);
    sf_jw_key(&j, "dir"), sf_jw_str(&j, s->ckpt_dir);
    if (s->ckpt_steps > 0)
        sf_jw_key(&j, "every_steps"), sf_jw_int(&j, s->ckpt_steps);
    else
        sf_jw_key(&j, "every_seconds"), sf_jw_num(&j, s->ckpt_seconds);
    sf_jw_obj_end(&j);
    sf_jw_key(&j, "campaign"), sf_jw_str(&j, o->campaign);
    sf_jw_key(&j, "tier"), sf_jw_str(&j, sf_tier_name((enum sf_tier_kind)o->tier));
    sf_jw_key(&j, "cpu_lanes_per_node"), sf_jw_int(&j, o->cpu_lanes);
    sf_jw_key(&j, "model"), sf_jw_str(&j, s->model_dir);
    sf_jw_key(&j, "tokenizer"), sf_jw_str(&j, s->tokenizer);
    sf_jw_key(&j, "cache"), sf_jw_str(&j, s->cache);
    sf_jw_key(&j, "text_encoder_key"), sf_jw_str(&j, s->text_key);
    sf_jw_key(&j, "world"), sf_jw_obj_begin(&j);
    sf_jw_key(&j, "ranks"), sf_jw_int(&j, w->world_size);
    sf_jw_key(&j, "nodes"), sf_jw_int(&j, w->n_nodes);
    sf_jw_key(&j, "tp"), sf_jw_int(&j, w->tp);
    sf_jw_key(&j, "groups"), sf_jw_int(&j, w->n_groups);
    sf_jw_obj_end(&j);
    /* the plan's prediction for this world (sf_sched, as `shotfarm plan` simulates it), which
     * `status` sets beside Slurm's accounting (docs/submit.md § Accounting) */
    struct sf_sched_result sim;
    sf_jw_key(&j, "plan");
    if (sf_sched_simulate(s->sched, s->n_jobs, w->n_groups, w->n_nodes * (int)o->cpu_lanes,
                          &sim) == SF_OK) {
        sf_jw_obj_begin(&j);
        sf_jw_key(&j, "profile"), sf_jw_str(&j, SF_RENDER_PRICE_PROFILE);
        sf_jw_key(&j, "makespan_seconds"), sf_jw_num(&j, sim.makespan);
        sf_jw_key(&j, "group_seconds"), sf_jw_num(&j, sim.busy);
        sf_jw_obj_end(&j);
        sf_sched_result_fini(&sim);
    } else {
        sf_jw_null(&j);
    }
    /* Within one domain results are bit-identical; the rank count and thread count are not in
     * it because they do not change a bit (tests/render/). */
    sf_jw_key(&j, "determinism_domain"), sf_jw_obj_begin(&j);
    sf_jw_key(&j, "cpu"), sf_jw_arr_begin(&j);
    for (int r = 0; r < w->world_size; r++) {
        int seen = 0;
        for (int q = 0; q < r; q++)
            seen |= memcmp(&doms[q], &doms[r], sizeof doms[r]) == 0;
        if (seen) continue;
        sf_jw_obj_begin(&j);
        sf_jw_key(&j, "model"), sf_jw_str(&j, doms[r].cpu);
        sf_jw_key(&j, "simd_path"), sf_jw_str(&j, doms[r].simd);
        sf_jw_key(&j, "openblas_core"), sf_jw_str(&j, doms[r].blas);
        sf_jw_obj_end(&j);
    }
    sf_jw_arr_end(&j);
    sf_jw_key(&j, "tp"), sf_jw_int(&j, w->tp);
    /* the DiT's device (--device; "auto": cuda where a GPU is visible and tp is 1): GPU and CPU
     * results differ in their last bits (docs/gpu.md) */
    sf_jw_key(&j, "dit_device"), sf_jw_str(&j, o->device ? o->device : "auto");
    sf_jw_key(&j, "guidance_passes"), sf_jw_str(&j, sf_render_guidance_mode(s->cfg_parallel));
    sf_jw_key(&j, "libraries"), sf_jw_obj_begin(&j);
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int vl = 0;
    MPI_Get_library_version(v, &vl);
    v[strcspn(v, ",\n")] = '\0';
    sf_jw_key(&j, "mpi"), sf_jw_str(&j, v);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    snprintf(v, sizeof v, "%u.%u.%u", maj, min, rel);
    sf_jw_key(&j, "hdf5"), sf_jw_str(&j, v);
    sf_jw_key(&j, "libavcodec"), sf_jw_str(&j, LIBAVCODEC_IDENT);
    sf_jw_key(&j, "libavformat"), sf_jw_str(&j, LIBAVFORMAT_IDENT);
    sf_jw_key(&j, "openblas"), sf_jw_str(&j, openblas_get_config());
    sf_jw_obj_end(&j);
    sf_jw_obj_end(&j);
    sf_jw_key(&j, "inputs"), sf_jw_arr_begin(&j);
    for (int i = 0; i < in->n; i++) {
        sf_jw_obj_begin(&j);
        sf_jw_key(&j, "path"), sf_jw_str(&j, in->v[i].path);
        sf_jw_key(&j, "bytes"), sf_jw_int(&j, in->v[i].bytes);
        sf_jw_key(&j, "sha256"), sf_jw_str(&j, in->v[i].sha);
        sf_jw_obj_end(&j);
    }
    sf_jw_arr_end(&j);
    sf_jw_key(&j, "units"), sf_jw_arr_begin(&j);
    for (int i = 0; i < s->n_jobs; i++) {
        const struct sf_render_job *u = &s->jobs[i];
        sf_jw_obj_begin(&j);
        sf_jw_key(&j, "name"), sf_jw_str(&j, u->name);
        sf_jw_key(&j, "kind"), sf_jw_str(&j, u->kind->name);
        sf_jw_key(&j, "shot"), sf_jw_str(&j, u->shot_label);
        sf_jw_key(&j, "row"), sf_jw_str(&j, u->row);
        sf_jw_key(&j, "resource"), sf_jw_str(&j, u->kind->resource == SF_UNIT_CPU ? "cpu" : "group");
        sf_jw_key(&j, "gang"), sf_jw_int(&j, u->gang);
        sf_jw_key(&j, "key");
        if (u->key[0])
            sf_jw_str(&j, u->key);
        else
            sf_jw_null(&j);
        sf_jw_key(&j, "steps"), sf_jw_int(&j, u->steps);
        sf_jw_key(&j, "planned_seconds"), sf_jw_num(&j, s->sched[i].seconds); /* the report's */
        sf_jw_key(&j, "output");
        if (!u->kind->run)
            sf_jw_null(&j);
        else
            sf_jw_str(&j, u->out);
        sf_jw_key(&j, "deps"), sf_jw_arr_begin(&j);
        for (int d = 0; d < s->sched[i].n_deps; d++)
            sf_jw_int(&j, s->sched[i].deps[d]);
        sf_jw_arr_end(&j);
        sf_jw_obj_end(&j);
    }
    sf_jw_arr_end(&j);
    sf_jw_obj_end(&j);
    sf_jw_finish(&j);
    int st = fclose(f) == 0 ? SF_OK : SF_E_NOMEM;
    char path[SF_RENDER_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/manifest.json", s->rundir);
    if (st == SF_OK) st = sf_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}
