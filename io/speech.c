/* speech.c — dialogue synthesis with libespeak-ng (sf_speech.h). Called by the campaign loader
 * (to measure every line's length for `validate`) and by the sound units on CPU lanes.
 *
 * The subtle parts: espeak-ng keeps global state (one voice, one callback), so initialisation
 * and voice selection run under one mutex; it also keeps state BETWEEN syntheses in function
 * statics, so each line is read in a fresh fork (child_synth) and the bytes depend on the line
 * alone; the synchronous output mode hands the samples to a callback, which appends them to
 * the buffer passed as user data; the variant is checked against espeak-ng's own list because
 * SetVoiceByName("en-us+nosuch") succeeds silently with the plain voice. */
#define _POSIX_C_SOURCE 200809L
#include "sf_speech.h"
#include "sf_errors.h"
#include "sf_log.h"
#include "sf_status.h"

#include <espeak-ng/espeak_ng.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_RATE 48000
#define SILENCE 0.003f /* below this (about -50 dBFS) a sample is silence, for trimming */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int ready;         /* 1 initialised, -1 failed */
static int engine_rate;   /* espeak-ng's output rate (22050) */
static char version[32];
static char current[160]; /* the voice espeak-ng has loaded: switching language costs ~20 ms */

const char *sf_speech_base_voice(enum sf_lang l)
{
    static const char *const v[SF_LANG_COUNT] = {
        [SF_LANG_EN] = "en-us", [SF_LANG_ES] = "es", [SF_LANG_ZH] = "cmn-latn-pinyin",
        [SF_LANG_JA] = "ja", [SF_LANG_KO] = "ko"};
    return (int)l >= 0 && l < SF_LANG_COUNT ? v[l] : "en-us";
}

struct pcm16 {
    short *v;
    size_t n, cap;
    int failed;
};

static int on_samples(short *wav, int n, espeak_EVENT *ev)
{
    struct pcm16 *p = ev ? ev->user_data : NULL;
    if (!p || !wav || n <= 0) return 0;
    if (p->n + (size_t)n > p->cap) {
        size_t nc = (p->n + (size_t)n) * 2;
        short *nv = realloc(p->v, nc * sizeof *nv);
        if (!nv) {
            p->failed = 1;
            return 1; /* stop */
        }
        p->v = nv;
        p->cap = nc;
    }
    memcpy(p->v + p->n, wav, (size_t)n * sizeof *wav);
    p->n += (size_t)n;
    return 0;
}

/* Under the lock. */
static int init_locked(void)
{
    if (ready) return ready > 0 ? SF_OK : SF_E_UNSUPPORTED;
    espeak_ng_InitializePath(NULL);
    espeak_ng_ERROR_CONTEXT ctx = NULL;
    espeak_ng_STATUS s = espeak_ng_Initialize(&ctx);
    if (s == ENS_OK) s = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, NULL);
    if (s != ENS_OK) {
        char msg[256] = "";
        espeak_ng_GetStatusCodeMessage(s, msg, sizeof msg);
        espeak_ng_ClearErrorContext(&ctx);
        SF_ERROR("speech", "espeak-ng cannot start (%s); install the Debian package "
                 "espeak-ng-data (scripts/setup.sh does)", msg);
        ready = -1;
        return SF_E_UNSUPPORTED;
    }
    espeak_SetSynthCallback(on_samples);
    engine_rate = espeak_ng_GetSampleRate();
    const char *path = NULL;
    snprintf(version, sizeof version, "%s", espeak_Info(&path));
    ready = 1;
    return SF_OK;
}

const char *sf_speech_version(void)
{
    pthread_mutex_lock(&lock);
    int st = init_locked();
    pthread_mutex_unlock(&lock);
    return st == SF_OK ? version : "unavailable";
}

/* espeak-ng's variants, listed once (listing reads every voice file: milliseconds each time) */
#define MAX_VARIANTS 256
static char variants[MAX_VARIANTS][48];
static int n_variants = -1;

static int has_variant_locked(const char *variant)
{
    if (n_variants < 0) {
        espeak_VOICE spec;
        memset(&spec, 0, sizeof spec);
        spec.languages = "variant";
        const espeak_VOICE **list = espeak_ListVoices(&spec);
        n_variants = 0;
        for (int i = 0; list && list[i] && n_variants < MAX_VARIANTS; i++) {
            const char *id = list[i]->identifier;
            if (id && strncmp(id, "!v/", 3) == 0 && strlen(id + 3) < sizeof variants[0])
                snprintf(variants[n_variants++], sizeof variants[0], "%s", id + 3);
        }
    }
    for (int i = 0; i < n_variants; i++)
        if (strcmp(variants[i], variant) == 0) return 1;
    return 0;
}

int sf_speech_has_variant(const char *variant)
{
    pthread_mutex_lock(&lock);
    int ok = init_locked() == SF_OK && variant && has_variant_locked(variant);
    pthread_mutex_unlock(&lock);
    return ok;
}

/* 22.05 kHz 16-bit -> 48 kHz float, trimmed. */
static int to_output(const struct pcm16 *p, float **pcm, int64_t *n)
{
    size_t a = 0, b = p->n;
    while (a < b && fabsf(p->v[a] / 32768.0f) < SILENCE)
        a++;
    while (b > a && fabsf(p->v[b - 1] / 32768.0f) < SILENCE)
        b--;
    *pcm = NULL;
    *n = 0;
    if (a == b) return SF_OK;
    SwrContext *swr = NULL;
    AVChannelLayout mono;
    av_channel_layout_default(&mono, 1);
    int rc = swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_FLT, OUT_RATE, &mono,
                                 AV_SAMPLE_FMT_S16, engine_rate, 0, NULL);
    if (rc >= 0) rc = swr_init(swr);
    int st = sf_av_check(rc, "set up the speech resampler");
    const int in_n = (int)(b - a);
    const int cap = (int)swr_get_out_samples(swr, in_n) + 64;
    float *out = st ? NULL : malloc((size_t)cap * sizeof *out);
    if (!st && !out) st = SF_E_NOMEM;
    if (!st) {
        const uint8_t *in[1] = {(const uint8_t *)(p->v + a)};
        uint8_t *o[1] = {(uint8_t *)out};
        int got = swr_convert(swr, o, cap, in, in_n);
        int more = got >= 0 ? swr_convert(swr, (uint8_t *[]){(uint8_t *)(out + got)}, cap - got,
                                          NULL, 0)
                            : 0;
        if (got < 0 || more < 0) st = sf_av_check(got < 0 ? got : more, "resample speech");
        else *n = got + more;
    }
    swr_free(&swr);
    if (st) {
        free(out);
        return st;
    }
    *pcm = out;
    return SF_OK;
}

/* In a child process: the line into fd as int32 n, then n int16 samples; exits. espeak-ng keeps
 * state between syntheses in function statics (the pitch flutter's position, the wave
 * generator's phase and gain), so the same line read twice in one process differs in length
 * and samples. Reading each line in a fresh fork of a process that never synthesises makes
 * every line a function of its text and voice alone: the same bytes on any rank, lane or
 * launch, and in `validate`. */
static void child_synth(int fd, const struct sf_speech_voice *v, const char *text)
{
    struct pcm16 p = {0};
    espeak_SetParameter(espeakPITCH, v->pitch, 0);
    espeak_SetParameter(espeakRATE, v->rate, 0);
    espeak_SetParameter(espeakVOLUME, 100, 0);
    espeak_ng_STATUS s = espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
                                              espeakCHARS_UTF8, NULL, &p);
    if (s == ENS_OK) s = espeak_ng_Synchronize();
    int32_t n = s == ENS_OK && !p.failed ? (int32_t)p.n : -(int32_t)(s ? s : 1);
    int ok = write(fd, &n, sizeof n) == (ssize_t)sizeof n;
    const char *at = (const char *)p.v;
    size_t left = n > 0 ? (size_t)n * sizeof(short) : 0;
    while (ok && left) {
        ssize_t w = write(fd, at, left);
        if (w <= 0) ok = 0;
        else at += w, left -= (size_t)w;
    }
    _exit(ok ? 0 : 1);
}

static int read_full(int fd, void *buf, size_t n)
{
    char *at = buf;
    while (n) {
        ssize_t r = read(fd, at, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        at += r, n -= (size_t)r;
    }
    return 0;
}

int sf_speech_synth(const struct sf_speech_voice *v, const char *text, float **pcm, int64_t *n)
{
    struct pcm16 p = {0};
    int st = SF_OK, fds[2] = {-1, -1};
    *pcm = NULL;
    *n = 0;
    pthread_mutex_lock(&lock);
    SF_TRY(st, init_locked());
    if (v->variant && !has_variant_locked(v->variant)) {
        SF_ERROR("speech", "espeak-ng has no voice variant '%s'; allowed: a name from espeak-ng's "
                 "voices/!v (m1-m8, f1-f5, klatt, ...)", v->variant);
        st = SF_E_INVAL;
        goto out;
    }
    char name[160];
    if (v->variant)
        snprintf(name, sizeof name, "%s+%s", sf_speech_base_voice(v->language), v->variant);
    else
        snprintf(name, sizeof name, "%s", sf_speech_base_voice(v->language));
    /* the voice is loaded here, once per change (a language's dictionary takes ~20 ms), and
     * inherited by the child that reads the line */
    espeak_ng_STATUS s = strcmp(name, current) == 0 ? ENS_OK : espeak_ng_SetVoiceByName(name);
    if (s == ENS_OK) snprintf(current, sizeof current, "%s", name);
    else current[0] = '\0';
    if (s != ENS_OK) {
        SF_ERROR("speech", "espeak-ng has no voice '%s'; install the Debian package espeak-ng-data "
                 "(scripts/setup.sh does)", name);
        st = SF_E_UNSUPPORTED;
        goto out;
    }
    if (pipe(fds) != 0) {
        st = sf_err_errno(errno, "make a pipe for", "speech synthesis");
        goto out;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        st = sf_err_errno(errno, "fork for", "speech synthesis");
        goto out;
    }
    if (pid == 0) {
        close(fds[0]);
        child_synth(fds[1], v, text);
    }
    close(fds[1]);
    fds[1] = -1;
    int32_t got = 0;
    if (read_full(fds[0], &got, sizeof got) == 0 && got > 0) {
        p.n = p.cap = (size_t)got;
        p.v = malloc(p.n * sizeof *p.v);
        if (!p.v) st = SF_E_NOMEM;
        else if (read_full(fds[0], p.v, p.n * sizeof *p.v) != 0) got = -1;
    }
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR) {
    }
    if (st == SF_OK && (got < 0 || !WIFEXITED(wst) || WEXITSTATUS(wst) != 0)) {
        char msg[256] = "the synthesis process failed";
        if (got < 0) espeak_ng_GetStatusCodeMessage((espeak_ng_STATUS)-got, msg, sizeof msg);
        SF_ERROR("speech", "espeak-ng cannot read \"%.60s\" (%s)", text, msg);
        st = SF_E_UNSUPPORTED;
    }
out:
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
    pthread_mutex_unlock(&lock);
    if (st == SF_OK) st = to_output(&p, pcm, n);
    free(p.v);
    return st;
}
