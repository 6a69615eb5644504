/* sf_model_dir.h — finding a model's parts on disk and opening its DiT checked against its
 * config. `--model PATH` accepts:
 *   - a diffusers pipeline directory: model_index.json with transformer/, vae/, text_encoder/,
 *     tokenizer/ (each a component directory);
 *   - one component directory: config.json + diffusion_pytorch_model.safetensors (or sharded
 *     with .safetensors.index.json), as save_pretrained writes it;
 *   - an official Wan2.1 checkpoint directory (Wan-AI/Wan2.1-T2V-*: config.json of class WanModel,
 *     diffusion_pytorch_model*.safetensors, Wan2.1_VAE.pth, models_t5_umt5-xxl-enc-bf16.pth,
 *     google/umt5-xxl/);
 *   - a bare .safetensors (or .safetensors.index.json) file holding a DiT: the config is then
 *     inferred from the shapes.
 * PyTorch pickles (.pth, .pt, .bin, .ckpt) are refused with the conversion to run: loading a
 * pickle executes code from the file.
 *
 *   struct sf_model_dir md;
 *   struct sf_dit_weights w;
 *   SF_TRY(st, sf_model_dir_detect(path, &md));
 *   SF_TRY(st, sf_model_dir_open_dit(&md, &w));       // config read and checked vs shapes
 *   const struct sf_st_tensor *q = sf_dit_weights_get(&w, "blocks.0.self_attn.q.weight");
 *   sf_dit_weights_fini(&w);
 */
#ifndef SF_MODEL_DIR_H
#define SF_MODEL_DIR_H

#include "sf_config.h"
#include "sf_dit_names.h"
#include "sf_safetensors.h"

enum sf_model_kind {
    SF_MODEL_PIPELINE,  /* diffusers pipeline directory */
    SF_MODEL_COMPONENT, /* one diffusers component directory */
    SF_MODEL_OFFICIAL,  /* official Wan2.1 checkpoint directory */
    SF_MODEL_FILE,      /* a bare safetensors file (or index) */
};

/* Components of a Wan2.1 text-to-video model. Later parts (VAE, text encoder, tokenizer) add
 * their loaders; detection already knows where each lives in every layout. */
enum sf_component {
    SF_COMPONENT_DIT,
    SF_COMPONENT_VAE,
    SF_COMPONENT_TEXT,
    SF_COMPONENT_TOKENIZER,
    SF_COMPONENT_COUNT
};

#define SF_MODEL_PATH_MAX 4096

struct sf_component_info {
    const char *name;            /* "dit", "vae", "text", "tokenizer" */
    const char *pipeline_key;    /* model_index.json key and subdirectory: "transformer", ... */
    const char *diffusers_class; /* config.json _class_name of the component directory */
    const char *official_path;   /* where the official checkpoint keeps it */
};

/* Static table indexed by enum sf_component. */
const struct sf_component_info *sf_component_info(enum sf_component c);
const char *sf_model_kind_name(enum sf_model_kind k);

struct sf_model_dir {
    enum sf_model_kind kind;
    char path[SF_MODEL_PATH_MAX];
    /* Where each component lives, "" when absent: a component directory (pipeline, component),
     * or a file or directory of the official checkpoint, or the file itself (SF_MODEL_FILE). */
    char component[SF_COMPONENT_COUNT][SF_MODEL_PATH_MAX];
};

/* Detects what path is. Returns SF_OK, or SF_E_NOTFOUND (no such path), SF_E_UNSUPPORTED (a
 * pickle: the message names the conversion), SF_E_FORMAT (a directory that is none of the
 * accepted forms, or a malformed model_index.json / config.json), each with one logged line. */
int sf_model_dir_detect(const char *path, struct sf_model_dir *md);

/* An opened DiT: its weights (any layout), its config and where the config came from. */
struct sf_dit_weights {
    struct sf_dit_config cfg;
    enum sf_layout layout;
    struct sf_st *st;                      /* owned */
    char config_source[SF_MODEL_PATH_MAX]; /* the config.json, or "the tensor shapes" */
    char weights_path[SF_MODEL_PATH_MAX];  /* the .safetensors or its .index.json */
};

/* Opens the DiT of md: maps its safetensors, detects the name layout, reads config.json (the
 * missing keys take the reference class's defaults; an official config.json omits text_dim and
 * patch_size, which then come from the shapes) or infers the config from the shapes, and checks
 * every tensor: present, expected shape, floating-point dtype, nothing extra. Returns SF_OK and
 * fills *w (release with sf_dit_weights_fini), or SF_E_NOTFOUND / SF_E_UNSUPPORTED /
 * SF_E_FORMAT / SF_E_INVAL with one logged line naming the file, the tensor, the expected and
 * the found shape. On failure *w is left empty. */
int sf_model_dir_open_dit(const struct sf_model_dir *md, struct sf_dit_weights *w);
void sf_dit_weights_fini(struct sf_dit_weights *w);

/* The tensor with this official name (see sf_dit_names.h), in whatever layout the file uses;
 * NULL when the name is not a DiT tensor of w's config. */
const struct sf_st_tensor *sf_dit_weights_get(const struct sf_dit_weights *w, const char *official);

/* Infers a DiT config from the tensors of st (layout already known): sizes from the shapes,
 * layers by counting blocks, heads from a named config with the same shapes or else head_dim
 * 128 (Wan's). Returns SF_OK or SF_E_FORMAT (a tensor it needs is missing; logged). */
int sf_dit_config_infer(const struct sf_st *st, enum sf_layout layout, struct sf_dit_config *cfg);

/* Detects the layout from the names in st: SF_OK, or SF_E_FORMAT when st holds no Wan DiT. */
int sf_dit_layout_detect(const struct sf_st *st, enum sf_layout *layout);

#endif
