/* Fuzz harness: what a resume reads from a run directory — manifest.json, events.jsonl (torn,
 * edited, from other versions) and a signals record — must never crash, leak or hang
 * sf_render_resume_plan; at worst it refuses with one line. The input is split at "\n--\n" into
 * the three files, written into a fresh temporary run directory with two units. */
#define _GNU_SOURCE
#include "sf_file.h"
#include "sf_log.h"
#include "sf_render.h"
#include "sf_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *dir, const char *name, const char *data, size_t n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sf_log_set_level(SF_LOG_OFF);
    char dir[] = "/tmp/sf-fuzz-resume-XXXXXX";
    if (!mkdtemp(dir)) return 0;
    char sub[600];
    snprintf(sub, sizeof sub, "%s/signals", dir);
    mkdir(sub, 0777);
    const char *parts[3] = {(const char *)data, NULL, NULL};
    size_t lens[3] = {size, 0, 0};
    for (int k = 1; k < 3; k++) {
        const char *cut = memmem(parts[k - 1], lens[k - 1], "\n--\n", 4);
        if (!cut) break;
        parts[k] = cut + 4;
        lens[k] = lens[k - 1] - (size_t)(parts[k] - parts[k - 1]);
        lens[k - 1] = (size_t)(cut - parts[k - 1]);
    }
    put(dir, "manifest.json", parts[0], lens[0]);
    if (parts[1]) put(dir, "events.jsonl", parts[1], lens[1]);
    if (parts[2]) put(dir, "signals/1.0", parts[2], lens[2]);

    struct sf_render_job jobs[2] = {{.kind = &sf_unit_denoise, .name = "a/s take 1 16:9 denoise",
                                     .stem = "a.s.take1.16x9", .steps = 4},
                                    {.kind = &sf_unit_decode, .name = "a/s take 1 16:9 decode",
                                     .stem = "a.s.take1.16x9", .denoise_job = 0}};
    snprintf(jobs[0].out, sizeof jobs[0].out, "%s/latents/a.s.take1.16x9.h5", dir);
    snprintf(jobs[1].out, sizeof jobs[1].out, "%s/shots/a.s.take1.16x9.mkv", dir);
    memset(jobs[0].key, 'a', SF_SHA256_HEX - 1);
    memset(jobs[1].key, 'b', SF_SHA256_HEX - 1);
    struct sf_render_setup s = {.rundir = dir, .n_jobs = 2, .jobs = jobs, .tp = 1};
    memset(s.dit_key, 'c', SF_SHA256_HEX - 1);
    memset(s.vae_key, 'd', SF_SHA256_HEX - 1);
    memset(s.text_key, 'e', SF_SHA256_HEX - 1);
    struct sf_render_identity id;
    sf_render_identity_of(&s, 7, &id);
    for (int force = 0; force < 2; force++) {
        const struct sf_render_resume_opts o = {.require = 1, .force = force, .max_retries = 0};
        struct sf_render_resume r;
        if (sf_render_resume_plan(&s, &id, &o, &r) == SF_OK && r.attempt < 1) abort();
        sf_render_resume_fini(&r);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "%s/signals/1.0", dir);
    unlink(cmd);
    rmdir(sub);
    put(dir, "manifest.json", "", 0);
    snprintf(cmd, sizeof cmd, "%s/manifest.json", dir);
    unlink(cmd);
    snprintf(cmd, sizeof cmd, "%s/events.jsonl", dir);
    unlink(cmd);
    rmdir(dir);
    return 0;
}
