/* test_sound_mix.c — how an assemble unit finds its language's mix (sf_unit_sound_mix) in the
 * sound unit's index: the path of the file whose role is "mix"; a missing index, one that is not
 * JSON, and one that lists no mix each fail with one line naming the index and the fix (delete it
 * and render again, which re-runs the sound unit), and leave the caller's path alone. */
#define _POSIX_C_SOURCE 200809L
#include "sf_log.h"
#include "sf_render.h"
#include "sf_status.h"
#include "sf_test.h"
#include "sf_unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/sf_sound_mix_XXXXXX";

/* The job of a sound unit whose index is dir/name, written with text (NULL: not written). */
static void job_with(struct sf_render_job *j, const char *name, const char *text)
{
    memset(j, 0, sizeof *j);
    snprintf(j->out, sizeof j->out, "%s/%s", dir, name);
    if (text) {
        FILE *f = fopen(j->out, "w");
        CHECK(f != NULL);
        if (f) {
            fputs(text, f);
            fclose(f);
        }
    }
}

/* sf_unit_sound_mix on index text: its status; the error line (or "") in err, the path in got. */
static int mix(const char *name, const char *text, char *got, size_t n, char *err, size_t en)
{
    struct sf_render_job j;
    job_with(&j, name, text);
    snprintf(got, n, "untouched");
    sf_log_error_mark();
    int st = sf_unit_sound_mix(&j, got, n);
    snprintf(err, en, "%s", sf_log_first_error());
    const char *fix = text ? "delete it" : "run the same render again";
    if (st != SF_OK && (!strstr(err, name) || !strstr(err, fix))) {
        fprintf(stderr, "%s: the error does not name the index and the fix: %s\n", name, err);
        sf_test_failures++;
    }
    return st;
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    sf_log_set_level(SF_LOG_OFF);   /* captured below, not printed */
    char got[256], err[512];

    /* an index as the sound unit writes it: the mix among stems and subtitles */
    CHECK_EQ_INT(mix("good.json",
                     "{\"unit\": \"sound.spot.en\", \"files\": ["
                     "{\"role\": \"dialogue\", \"path\": \"/r/spot_en_dialogue.wav\"},"
                     "{\"role\": \"mix\", \"path\": \"/r/spot_en_mix.wav\"},"
                     "{\"role\": \"srt\", \"path\": \"/r/spot_en_srt.srt\"}]}",
                     got, sizeof got, err, sizeof err), SF_OK);
    CHECK_STR(got, "/r/spot_en_mix.wav");
    CHECK_STR(err, "");

    /* not written: one line that names the file and says to render again */
    CHECK_EQ_INT(mix("absent.json", NULL, got, sizeof got, err, sizeof err), SF_E_NOTFOUND);
    CHECK(strstr(err, "missing") != NULL);
    CHECK_STR(got, "untouched");

    /* cut short while written (not JSON) */
    CHECK_EQ_INT(mix("cut.json", "{\"files\": [{\"role\": \"mix\", \"pa", got, sizeof got, err,
                     sizeof err), SF_E_FORMAT);
    CHECK_STR(got, "untouched");

    /* JSON, but no file has the role mix (a stem only; files not an array; no files) */
    CHECK_EQ_INT(mix("nomix.json", "{\"files\": [{\"role\": \"music\", \"path\": \"/r/m.wav\"}]}",
                     got, sizeof got, err, sizeof err), SF_E_FORMAT);
    CHECK(strstr(err, "lists no mix") != NULL);
    CHECK_STR(got, "untouched");
    CHECK_EQ_INT(mix("notarray.json", "{\"files\": {\"role\": \"mix\", \"path\": \"/r/m.wav\"}}",
                     got, sizeof got, err, sizeof err), SF_E_FORMAT);
    CHECK_EQ_INT(mix("nofiles.json", "[]", got, sizeof got, err, sizeof err), SF_E_FORMAT);
    /* a mix without a path is no mix */
    CHECK_EQ_INT(mix("nopath.json", "{\"files\": [{\"role\": \"mix\"}]}", got, sizeof got, err,
                     sizeof err), SF_E_FORMAT);
    CHECK_STR(got, "untouched");

    const char *names[] = {"good.json", "cut.json", "nomix.json", "notarray.json", "nofiles.json",
                           "nopath.json"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return sf_test_result("sound_mix");
}
