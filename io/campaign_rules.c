/* campaign_rules.c — the fixed rules of the campaign format, as pure functions: durations to
 * 4n+1 model frames, deliverable lengths to delivery frames, the director-prompt split, the
 * camera-move vocabulary with its per-language phrases, and the names of every enumeration.
 * Called by the loader (campaign.c) and by the planner and assembly later; unit-tested in
 * tests/campaigns/test_campaign_rules.c. docs/campaign.md states each rule in words; keep the two
 * in step. The subtle part: all time arithmetic is in integer milliseconds and exact rationals,
 * so the same file gives the same frames on every machine. */
#define _POSIX_C_SOURCE 200809L
#include "campaign_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const lang_names[SF_LANG_COUNT] = {"en", "es", "zh", "ja", "ko"};
static const char *const aspect_names[SF_ASPECT_COUNT] = {"16:9", "9:16", "1:1"};
static const char *const codec_names[SF_CODEC_COUNT] = {"h264", "prores", "ffv1"};
static const char *const tier_names[SF_TIER_COUNT] = {"draft", "final"};

const char *sf_lang_name(enum sf_lang l)
{
    return (unsigned)l < SF_LANG_COUNT ? lang_names[l] : "?";
}

const char *sf_aspect_name(enum sf_aspect a)
{
    return (unsigned)a < SF_ASPECT_COUNT ? aspect_names[a] : "?";
}

const char *sf_codec_name(enum sf_codec c)
{
    return (unsigned)c < SF_CODEC_COUNT ? codec_names[c] : "?";
}

const char *sf_tier_name(enum sf_tier_kind t)
{
    return (unsigned)t < SF_TIER_COUNT ? tier_names[t] : "?";
}

/* Name, then the phrase in en, es, zh, ja, ko (the order of enum sf_lang). */
static const char *const camera_table[SF_CAMERA_COUNT][1 + SF_LANG_COUNT] = {
    [SF_CAMERA_NONE] = {"none", "", "", "", "", ""},
    [SF_CAMERA_STATIC] = {"static", "static camera", "cámara fija", "固定镜头", "固定カメラ",
                          "고정 카메라"},
    [SF_CAMERA_PAN_LEFT] = {"pan-left", "the camera pans left", "la cámara gira a la izquierda",
                            "镜头向左摇", "カメラが左へパン", "카메라가 왼쪽으로 팬"},
    [SF_CAMERA_PAN_RIGHT] = {"pan-right", "the camera pans right", "la cámara gira a la derecha",
                             "镜头向右摇", "カメラが右へパン", "카메라가 오른쪽으로 팬"},
    [SF_CAMERA_TILT_UP] = {"tilt-up", "the camera tilts up", "la cámara se inclina hacia arriba",
                           "镜头向上摇", "カメラがティルトアップ", "카메라가 위로 틸트"},
    [SF_CAMERA_TILT_DOWN] = {"tilt-down", "the camera tilts down",
                             "la cámara se inclina hacia abajo", "镜头向下摇",
                             "カメラがティルトダウン", "카메라가 아래로 틸트"},
    [SF_CAMERA_DOLLY_IN] = {"dolly-in", "the camera dollies in", "la cámara avanza hacia el sujeto",
                            "镜头推近", "カメラがドリーイン", "카메라가 돌리 인"},
    [SF_CAMERA_DOLLY_OUT] = {"dolly-out", "the camera dollies out",
                             "la cámara se aleja del sujeto", "镜头拉远", "カメラがドリーアウト",
                             "카메라가 돌리 아웃"},
    [SF_CAMERA_TRACKING] = {"tracking", "tracking shot following the subject",
                            "plano de seguimiento del sujeto", "跟拍镜头",
                            "被写体を追うトラッキングショット", "피사체를 따라가는 트래킹 숏"},
    [SF_CAMERA_CRANE_UP] = {"crane-up", "crane shot rising", "plano de grúa ascendente",
                            "升降镜头上升", "クレーンアップ", "크레인 업"},
    [SF_CAMERA_CRANE_DOWN] = {"crane-down", "crane shot descending", "plano de grúa descendente",
                              "升降镜头下降", "クレーンダウン", "크레인 다운"},
    [SF_CAMERA_ORBIT] = {"orbit", "the camera orbits around the subject",
                         "la cámara gira alrededor del sujeto", "环绕镜头",
                         "カメラが被写体の周りを回る", "카메라가 피사체 주위를 돈다"},
    [SF_CAMERA_HANDHELD] = {"handheld", "handheld camera", "cámara en mano", "手持镜头",
                            "手持ちカメラ", "핸드헬드 카메라"},
    [SF_CAMERA_ZOOM_IN] = {"zoom-in", "the camera zooms in", "zoom de acercamiento", "变焦推近",
                           "ズームイン", "줌 인"},
    [SF_CAMERA_ZOOM_OUT] = {"zoom-out", "the camera zooms out", "zoom de alejamiento", "变焦拉远",
                            "ズームアウト", "줌 아웃"},
};

const char *sf_camera_name(enum sf_camera c)
{
    return (unsigned)c < SF_CAMERA_COUNT ? camera_table[c][0] : "?";
}

const char *sf_camera_phrase(enum sf_camera c, enum sf_lang l)
{
    if ((unsigned)c >= SF_CAMERA_COUNT || (unsigned)l >= SF_LANG_COUNT) return "";
    return camera_table[c][1 + l];
}

/* ---- time ------------------------------------------------------------------------------ */
int sf_campaign_frames_for_ms(int duration_ms)
{
    return sf_campaign_frames_for(duration_ms, 0);
}

int sf_campaign_frames_for(int duration_ms, int lead)
{
    /* frames >= lead + duration * 16 / 1000, frames = 4n + 1:
     * n = ceil((16 * ms + 1000 * (lead - 1)) / 4000). */
    long long need = 16LL * duration_ms + 1000LL * (lead - 1);
    if (need <= 0) return 1;
    long long n = (need + 3999) / 4000;
    return (int)(4 * n + 1);
}

int sf_campaign_continue_lead(int frames, int lead, int duration_ms, int k)
{
    /* ceil(k - frames + lead + 16 ms / 1000), in thousandths of a frame */
    const long long t = 1000LL * (k - frames + lead) + 16LL * duration_ms;
    return t <= 0 ? 0 : (int)((t + 999) / 1000);
}

static int nominal_rate(struct sf_fps fps)
{
    /* 24000/1001 -> 24, 30000/1001 -> 30: round to nearest. */
    return (int)((2LL * fps.num + fps.den) / (2LL * fps.den));
}

int sf_campaign_delivery_frames(int seconds, struct sf_fps fps)
{
    return seconds * nominal_rate(fps);
}

int64_t sf_campaign_delivery_frame_at(int64_t model_frame, struct sf_fps fps)
{
    return model_frame * fps.num / ((int64_t)SF_CAMPAIGN_MODEL_FPS * fps.den);
}

int64_t sf_campaign_frame_samples(int64_t frames, struct sf_fps fps)
{
    return frames * 48000 * fps.den / fps.num;
}

int64_t sf_campaign_line_sample(int before_ms, int start_ms, struct sf_fps fps)
{
    /* the shot's first model frame, ceil(16 x T / 1000), then its delivery frame (as the
     * pictures are placed: docs/campaign.md § Deliverable lengths) */
    const int64_t model = ((int64_t)SF_CAMPAIGN_MODEL_FPS * before_ms + 999) / 1000;
    return sf_campaign_frame_samples(sf_campaign_delivery_frame_at(model, fps), fps) +
           (int64_t)start_ms * 48;
}

/* ---- edit distance --------------------------------------------------------------------- */
int campaign_edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 64) la = 64;
    if (lb > 64) lb = 64;
    int prev[65], cur[65];
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
    }
    return prev[lb];
}

/* ---- director split -------------------------------------------------------------------- */
struct piece { size_t start, end; };

/* Length of a marker at s[i], or 0: "[cut]" (any case) or "Shot <digits>:" (any case) that
 * starts the text or follows whitespace or punctuation. *is_shot tells which. */
static size_t marker_at(const char *s, size_t i, int *is_shot)
{
    if (strncasecmp(s + i, "[cut]", 5) == 0) {
        *is_shot = 0;
        return 5;
    }
    if (i > 0 && isalnum((unsigned char)s[i - 1])) return 0;
    if (strncasecmp(s + i, "shot", 4) != 0) return 0;
    size_t k = i + 4;
    while (s[k] == ' ') k++;
    size_t d = k;
    while (isdigit((unsigned char)s[k])) k++;
    if (k == d || s[k] != ':') return 0;
    *is_shot = 1;
    return k + 1 - i;
}

static int is_blank_range(const char *s, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (!isspace((unsigned char)s[i])) return 0;
    return 1;
}

static char *trimmed_dup(const char *pre, size_t pre_len, const char *s, size_t a, size_t b)
{
    while (a < b && isspace((unsigned char)s[a])) a++;
    while (b > a && isspace((unsigned char)s[b - 1])) b--;
    while (pre_len && isspace((unsigned char)pre[pre_len - 1])) pre_len--;
    while (pre_len && isspace((unsigned char)pre[0])) pre++, pre_len--;
    size_t n = (pre_len ? pre_len + 1 : 0) + (b - a);
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    if (pre_len) {
        memcpy(out, pre, pre_len);
        out[pre_len] = ' ';
        o = pre_len + 1;
    }
    memcpy(out + o, s + a, b - a);
    out[n] = '\0';
    return out;
}

/* Sentence end at s[i]: '.', '!', '?' followed by whitespace or the end (runs like "?!" or
 * "..." stay together), or a CJK full stop / exclamation / question mark (no space needed).
 * Returns the index just past the end, or 0. */
static size_t sentence_end(const char *s, size_t i, size_t len)
{
    static const char *const cjk[] = {"\xe3\x80\x82", "\xef\xbc\x81", "\xef\xbc\x9f"}; /* 。！？ */
    for (int k = 0; k < 3; k++)
        if (strncmp(s + i, cjk[k], 3) == 0) return i + 3;
    if (s[i] != '.' && s[i] != '!' && s[i] != '?') return 0;
    size_t j = i;
    while (j < len && (s[j] == '.' || s[j] == '!' || s[j] == '?')) j++;
    if (j == len || isspace((unsigned char)s[j])) return j;
    return 0;
}

int sf_campaign_split_director(const char *prompt, int length_ms, char **texts,
                               int *durations_ms, int *n_shots, char *why, size_t why_len)
{
    struct piece pieces[64];
    int n = 0, too_many = 0;
    size_t len = strlen(prompt);
    const char *pre = "";
    size_t pre_len = 0;
    *n_shots = 0;

    /* 1. Markers. */
    size_t seg_start = 0;
    int markers = 0;
    for (size_t i = 0; i < len;) {
        int is_shot = 0;
        size_t m = marker_at(prompt, i, &is_shot);
        if (!m) {
            i++;
            continue;
        }
        if (markers == 0 && is_shot) {
            pre = prompt;
            pre_len = i; /* text before the first "Shot N:" is a preamble for every shot */
        } else if (!is_blank_range(prompt, seg_start, i)) {
            if (n < 64) pieces[n++] = (struct piece){seg_start, i};
            else too_many = 1;
        }
        markers++;
        i += m;
        seg_start = i;
    }
    if (markers) {
        if (!is_blank_range(prompt, seg_start, len)) {
            if (n < 64) pieces[n++] = (struct piece){seg_start, len};
            else too_many = 1;
        }
        if (n == 0) {
            snprintf(why, why_len, "the director prompt has markers but no shot text; allowed: "
                                   "text after each `Shot N:` or between `[cut]` markers");
            return -1;
        }
        if (n > SF_CAMPAIGN_MAX_SHOTS || too_many) {
            snprintf(why, why_len, "the director prompt's markers make %d%s shots; allowed: at "
                                   "most %d shots per sequence", n, too_many ? "+" : "",
                     SF_CAMPAIGN_MAX_SHOTS);
            return -1;
        }
        int each = length_ms / n;
        if (each < SF_CAMPAIGN_MIN_SHOT_MS || (length_ms + n - 1) / n > SF_CAMPAIGN_MAX_SHOT_MS) {
            snprintf(why, why_len, "%d shots in %g s make %g s shots; allowed: 3 to 15 s per shot "
                                   "(change `length` or the number of markers)",
                     n, length_ms / 1000.0, length_ms / 1000.0 / n);
            return -1;
        }
    } else {
        /* 2. Sentences, grouped. */
        struct piece sent[64];
        int ns = 0;
        size_t st = 0;
        for (size_t i = 0; i < len;) {
            size_t e = sentence_end(prompt, i, len);
            if (!e) {
                i++;
                continue;
            }
            if (!is_blank_range(prompt, st, e)) {
                if (ns < 64) sent[ns++] = (struct piece){st, e};
                else sent[63].end = e; /* past 64 sentences the last piece grows */
            }
            st = i = e;
        }
        if (!is_blank_range(prompt, st, len)) {
            if (ns < 64) sent[ns++] = (struct piece){st, len};
            else sent[63].end = len;
        }
        if (ns == 0) {
            snprintf(why, why_len, "the director prompt is empty; allowed: sentences, or shots "
                                   "marked with `Shot N:` or `[cut]`");
            return -1;
        }
        int k_min = (length_ms + SF_CAMPAIGN_MAX_SHOT_MS - 1) / SF_CAMPAIGN_MAX_SHOT_MS;
        int k_max = length_ms / SF_CAMPAIGN_MIN_SHOT_MS;
        if (k_max > SF_CAMPAIGN_MAX_SHOTS) k_max = SF_CAMPAIGN_MAX_SHOTS;
        if (k_min > k_max) {
            snprintf(why, why_len, "a %g s sequence cannot be split into 3-15 s shots; allowed: "
                                   "a length of 3 to 90 s", length_ms / 1000.0);
            return -1;
        }
        if (ns < k_min) {
            snprintf(why, why_len, "the director prompt has %d sentence%s but a %g s sequence "
                                   "needs at least %d shots; allowed: one sentence or marked "
                                   "part per shot (add `[cut]` markers or sentences)",
                     ns, ns == 1 ? "" : "s", length_ms / 1000.0, k_min);
            return -1;
        }
        n = ns < k_max ? ns : k_max;
        /* n groups of consecutive sentences; the first ns % n groups take one more. */
        int base = ns / n, extra = ns % n, s = 0;
        for (int g = 0; g < n; g++) {
            int take = base + (g < extra);
            pieces[g] = (struct piece){sent[s].start, sent[s + take - 1].end};
            s += take;
        }
    }

    /* 3. Texts and equal durations; the first length % n shots get one more millisecond. */
    for (int i = 0; i < n; i++) {
        texts[i] = trimmed_dup(pre, pre_len, prompt, pieces[i].start, pieces[i].end);
        if (!texts[i]) {
            for (int j = 0; j < i; j++) free(texts[j]);
            snprintf(why, why_len, "out of memory");
            return -1;
        }
        durations_ms[i] = length_ms / n + (i < length_ms % n);
    }
    *n_shots = n;
    return 0;
}
