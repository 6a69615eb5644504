/* cmd_inspect.c — `shotfarm inspect FILE|DIR`: what a safetensors file or model directory holds
 * (tensors, dtypes, shapes, bytes) and, for a model, its kind, components, name layout and the
 * DiT config — read from config.json and checked against every tensor, or inferred from the
 * shapes of a bare file. A file that is not a DiT (a forward input, say) is just listed.
 * Subtle: the DiT check is the same one the renderer runs at load time (sf_model_dir_open_dit),
 * so `inspect` is the way to find out why a model would be refused. */
#define _POSIX_C_SOURCE 200809L
#include "sf_cli.h"
#include "sf_file.h"
#include "sf_inspect_h5.h"
#include "sf_json.h"
#include "sf_log.h"
#include "sf_model_dir.h"
#include "sf_safetensors.h"
#include "sf_status.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define CMD "inspect"

static void usage(FILE *f)
{
    fprintf(f, "usage: shotfarm inspect [--json] [--summary] FILE|DIR\n\n"
               "A FILE.h5 (a render checkpoint or final latent) is verified against its .sha256\n"
               "sidecar first (exit 1 with the reason when it does not verify), then its\n"
               "attributes and arrays are listed.\n\n"
               "Lists the tensors of a .safetensors file (or sharded .safetensors.index.json) or of\n"
               "a model directory (diffusers pipeline or component, official Wan2.1 checkpoint),\n"
               "with dtypes, shapes and total bytes, and the detected layout and DiT config. The\n"
               "DiT is checked against its config.json exactly as rendering would load it.\n\n"
               "  --json      one JSON document on stdout\n"
               "  --summary   leave out the per-tensor list\n");
}

static void config_text(const struct sf_dit_weights *w)
{
    const struct sf_dit_config *c = &w->cfg;
    printf("dit:        %s\n", w->weights_path);
    printf("layout:     %s names\n", sf_layout_name(w->layout));
    printf("config:     %s, from %s%s\n", c->name, w->config_source,
           strcmp(w->config_source, "the tensor shapes") == 0 ? " (heads are not visible in "
                                                                 "shapes: assumed)" : "");
    printf("            dim %d, heads %d (head_dim %d), layers %d, ffn_dim %d, text_dim %d, "
           "freq_dim %d, in %d, out %d, patch %dx%dx%d, eps %g\n",
           c->dim, c->n_heads, c->dim / c->n_heads, c->n_layers, c->ffn_dim, c->text_dim,
           c->freq_dim, c->in_dim, c->out_dim, c->patch[0], c->patch[1], c->patch[2], c->eps);
    if (c->n_vace) {
        char list[512];
        printf("vace:       %d VACE blocks, %d input channels; hints added after layers %s\n",
               c->n_vace, c->vace_in_dim, sf_dit_config_vace_str(c, list, sizeof list));
    }
    printf("            %.4g parameters; every tensor present with its expected shape\n",
           sf_dit_config_params(c));
}

static void config_json(struct sf_jw *j, const struct sf_dit_weights *w)
{
    const struct sf_dit_config *c = &w->cfg;
    sf_jw_key(j, "dit"), sf_jw_obj_begin(j);
    sf_jw_key(j, "weights"), sf_jw_str(j, w->weights_path);
    sf_jw_key(j, "layout"), sf_jw_str(j, sf_layout_name(w->layout));
    sf_jw_key(j, "config_source"), sf_jw_str(j, w->config_source);
    sf_jw_key(j, "config"), sf_jw_obj_begin(j);
    sf_jw_key(j, "name"), sf_jw_str(j, c->name);
    sf_jw_key(j, "dim"), sf_jw_int(j, c->dim);
    sf_jw_key(j, "n_heads"), sf_jw_int(j, c->n_heads);
    sf_jw_key(j, "n_layers"), sf_jw_int(j, c->n_layers);
    sf_jw_key(j, "ffn_dim"), sf_jw_int(j, c->ffn_dim);
    sf_jw_key(j, "text_dim"), sf_jw_int(j, c->text_dim);
    sf_jw_key(j, "freq_dim"), sf_jw_int(j, c->freq_dim);
    sf_jw_key(j, "in_dim"), sf_jw_int(j, c->in_dim);
    sf_jw_key(j, "out_dim"), sf_jw_int(j, c->out_dim);
    sf_jw_key(j, "patch"), sf_jw_arr_begin(j);
    for (int i = 0; i < 3; i++) sf_jw_int(j, c->patch[i]);
    sf_jw_arr_end(j);
    sf_jw_key(j, "eps"), sf_jw_num(j, c->eps);
    sf_jw_key(j, "vace_in_dim"), sf_jw_int(j, c->vace_in_dim);
    sf_jw_key(j, "vace_layers"), sf_jw_arr_begin(j);
    for (int i = 0; i < c->n_vace; i++) sf_jw_int(j, c->vace_layers[i]);
    sf_jw_arr_end(j);
    sf_jw_key(j, "params"), sf_jw_num(j, sf_dit_config_params(c));
    sf_jw_obj_end(j);
    sf_jw_obj_end(j);
}

static void tensors_text(const struct sf_st *st, int list)
{
    size_t n = sf_st_count(st);
    if (list) {
        for (size_t i = 0; i < n; i++) {
            const struct sf_st_tensor *t = sf_st_at(st, i);
            char sh[128];
            sf_st_shape_str(t->n_dims, t->shape, sh, sizeof sh);
            printf("  %-52s %-5s %-24s %12llu\n", t->name, sf_dtype_st_name(t->dtype), sh,
                   (unsigned long long)t->n_bytes);
        }
    }
    uint64_t b = sf_st_total_bytes(st);
    printf("total:      %zu tensors in %zu file%s, %llu bytes (%.1f MiB)\n", n, sf_st_n_files(st),
           sf_st_n_files(st) == 1 ? "" : "s", (unsigned long long)b, (double)b / 1048576.0);
}

static void tensors_json(struct sf_jw *j, const struct sf_st *st, int list)
{
    size_t n = sf_st_count(st);
    if (list) {
        sf_jw_key(j, "tensors"), sf_jw_arr_begin(j);
        for (size_t i = 0; i < n; i++) {
            const struct sf_st_tensor *t = sf_st_at(st, i);
            sf_jw_obj_begin(j);
            sf_jw_key(j, "name"), sf_jw_str(j, t->name);
            sf_jw_key(j, "dtype"), sf_jw_str(j, sf_dtype_st_name(t->dtype));
            sf_jw_key(j, "shape"), sf_jw_arr_begin(j);
            for (int d = 0; d < t->n_dims; d++) sf_jw_int(j, t->shape[d]);
            sf_jw_arr_end(j);
            sf_jw_key(j, "bytes"), sf_jw_int(j, (int64_t)t->n_bytes);
            sf_jw_key(j, "file"), sf_jw_str(j, t->file);
            sf_jw_obj_end(j);
        }
        sf_jw_arr_end(j);
    }
    sf_jw_key(j, "n_tensors"), sf_jw_int(j, (int64_t)n);
    sf_jw_key(j, "n_files"), sf_jw_int(j, (int64_t)sf_st_n_files(st));
    sf_jw_key(j, "total_bytes"), sf_jw_int(j, (int64_t)sf_st_total_bytes(st));
}

/* A safetensors file that holds no DiT names is listed as plain tensors. */
static int holds_dit(const struct sf_st *st)
{
    return sf_st_find(st, "condition_embedder.time_proj.weight") ||
           sf_st_find(st, "time_projection.1.weight");
}

int sf_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"summary", no_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = 0, list = 1, c, st = SF_OK;
    struct sf_model_dir md;
    struct sf_dit_weights w = {0};
    struct sf_st *plain = NULL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 's': list = 0; break;
        case 'h': usage(stdout); return SF_OK;
        default: return sf_cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return sf_cli_usage_error(CMD, "give one FILE or DIR to inspect");
    if (sf_str_ends_with(argv[optind], ".h5")) return sf_inspect_h5(argv[optind], json, list);
    SF_TRY(st, sf_model_dir_detect(argv[optind], &md));
    const struct sf_st *tensors;
    if (md.kind == SF_MODEL_FILE) {
        SF_TRY(st, sf_st_open(md.path, &plain));
        if (holds_dit(plain)) {
            sf_st_close(plain);
            plain = NULL;
        }
    }
    if (!plain) SF_TRY(st, sf_model_dir_open_dit(&md, &w));
    tensors = plain ? plain : w.st;
    if (json) {
        struct sf_jw j;
        sf_jw_init(&j, stdout, 2);
        sf_jw_obj_begin(&j);
        sf_jw_key(&j, "path"), sf_jw_str(&j, md.path);
        sf_jw_key(&j, "kind"), sf_jw_str(&j, plain ? "safetensors file" : sf_model_kind_name(md.kind));
        sf_jw_key(&j, "components"), sf_jw_obj_begin(&j);
        for (int k = 0; k < SF_COMPONENT_COUNT; k++) {
            sf_jw_key(&j, sf_component_info((enum sf_component)k)->name);
            if (md.component[k][0] && !plain) sf_jw_str(&j, md.component[k]);
            else sf_jw_null(&j);
        }
        sf_jw_obj_end(&j);
        if (!plain) config_json(&j, &w);
        const char *fmt = sf_st_metadata(tensors, "format");
        sf_jw_key(&j, "format"), fmt ? sf_jw_str(&j, fmt) : sf_jw_null(&j);
        tensors_json(&j, tensors, list);
        sf_jw_obj_end(&j);
        sf_jw_finish(&j);
    } else {
        printf("path:       %s\n", md.path);
        printf("kind:       %s\n", plain ? "safetensors file (not a Wan DiT)" : sf_model_kind_name(md.kind));
        if (!plain && md.kind != SF_MODEL_FILE) {
            for (int k = 0; k < SF_COMPONENT_COUNT; k++) {
                char label[32];
                snprintf(label, sizeof label, "%s:", sf_component_info((enum sf_component)k)->name);
                printf("  %-10s %s\n", label, md.component[k][0] ? md.component[k] : "-");
            }
        }
        if (!plain) config_text(&w);
        if (list) printf("tensors:\n");
        tensors_text(tensors, list);
    }
out:
    sf_st_close(plain);
    if (w.st) sf_dit_weights_fini(&w);
    return st;
}
