/* sampler.c — flow-matching schedules, the UniPC (order 2, bh2, x0-prediction) and Euler steps,
 * classifier-free guidance, and the state's field list (sf_sampler.h). Called by the denoising
 * loop (coordinator/forward_denoise.c, later the render workers); sampler_file.c saves/loads.
 *
 * The subtle things:
 * - Tables reproduce numpy/torch to the bit: linspace is i·step + start with the end set
 *   exactly, shifts in double, fp32 rounding where the references round, int64 truncation of
 *   σ·1000. Wan's σ_max is fp32(0.999), diffusers-Euler's σ_min is shifted in fp32 at init and
 *   then again in double (diffusers' own behaviour, kept).
 * - UniPC is written from wan/utils/fm_solvers_unipc.py's math, not its structure: step k forms
 *   m = x − σ_k·v, corrects x with m (UniC, order of the previous predictor) if k > 0, then
 *   predicts (UniP, order min(2, k+1, N−k)). Scalar coefficients are computed in double, applied
 *   elementwise in fp32 in the references' operation order.
 * - The last step goes to σ = 0, where λ = log(1−σ) − log σ is +inf: there expm1(−h) = −1 and
 *   σ_t/σ_s0 = 0, so the order-1 predictor returns m exactly; we never evaluate log(0).
 * - Nothing outside struct sf_sampler is read by a step (scratch is fully rewritten before use),
 *   which is what makes save/resume bit-exact.
 */
#include "sf_sampler.h"

#include "sf_log.h"
#include "sf_status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TRAIN_STEPS 1000

const char *sf_sampler_kind_name(enum sf_sampler_kind k)
{
    return k == SF_SAMPLER_UNIPC ? "unipc" : k == SF_SAMPLER_EULER ? "euler" : "?";
}

const char *sf_schedule_kind_name(enum sf_schedule_kind k)
{
    return k == SF_SCHEDULE_WAN ? "wan" : k == SF_SCHEDULE_DIFFUSERS ? "diffusers" : "?";
}

int sf_sampler_kind_parse(const char *s, enum sf_sampler_kind *out)
{
    if (strcmp(s, "unipc") == 0)
        *out = SF_SAMPLER_UNIPC;
    else if (strcmp(s, "euler") == 0)
        *out = SF_SAMPLER_EULER;
    else
        return -1;
    return 0;
}

int sf_schedule_kind_parse(const char *s, enum sf_schedule_kind *out)
{
    if (strcmp(s, "wan") == 0)
        *out = SF_SCHEDULE_WAN;
    else if (strcmp(s, "diffusers") == 0)
        *out = SF_SCHEDULE_DIFFUSERS;
    else
        return -1;
    return 0;
}

/* ---- schedules -------------------------------------------------------------------------- */

/* numpy.linspace(start, stop, num)[i] for num >= 1, endpoint=True. */
static double linspace_at(double start, double stop, int num, int i)
{
    if (num > 1 && i == num - 1) return stop;
    if (num <= 1) return 0.0 * (stop - start) + start;
    double step = (stop - start) / (double)(num - 1);
    return (double)i * step + start;
}

static double shift_f64(double s, double sigma)
{
    return s * sigma / (1.0 + (s - 1.0) * sigma);
}

static float shift_f32(float s, float sigma)
{
    return s * sigma / (1.0f + (s - 1.0f) * sigma);
}

static int valid_guidance(double g, const char *what)
{
    if (!(g >= 0 && g <= SF_SAMPLER_MAX_GUIDANCE)) {
        SF_ERROR("sampler", "%s: guidance %g is out of range; use 0..%g (Wan's default is 5)", what,
                 g, SF_SAMPLER_MAX_GUIDANCE);
        return 0;
    }
    return 1;
}

static int valid_settings(int kind, int schedule, int n_steps, double shift, const char *what)
{
    if (kind != SF_SAMPLER_UNIPC && kind != SF_SAMPLER_EULER) {
        SF_ERROR("sampler", "%s: sampler %d is not unipc (0) or euler (1)", what, kind);
        return 0;
    }
    if (schedule != SF_SCHEDULE_WAN && schedule != SF_SCHEDULE_DIFFUSERS) {
        SF_ERROR("sampler", "%s: schedule %d is not wan (0) or diffusers (1)", what, schedule);
        return 0;
    }
    if (n_steps < 1 || n_steps > SF_SAMPLER_MAX_STEPS) {
        SF_ERROR("sampler", "%s: steps %d is out of range; use 1..%d", what, n_steps,
                 SF_SAMPLER_MAX_STEPS);
        return 0;
    }
    if (!(shift > 0 && shift <= SF_SAMPLER_MAX_SHIFT)) {
        SF_ERROR("sampler", "%s: shift %g is out of range; use a value in (0, %g]", what, shift,
                 SF_SAMPLER_MAX_SHIFT);
        return 0;
    }
    return 1;
}

int sf_sampler_schedule(enum sf_sampler_kind kind, enum sf_schedule_kind schedule, int n_steps,
                        double shift, float *sigmas, float *timesteps)
{
    if (!valid_settings(kind, schedule, n_steps, shift, "schedule")) return SF_E_INVAL;
    const int N = n_steps;
    if (schedule == SF_SCHEDULE_WAN) {
        /* fm_solvers_unipc.py: σ table 1 − linspace(1, 1/1000, 1000)[::-1] stored in fp32, so
         * σ_max = fp32(0.999) and σ_min = 0; set_timesteps: linspace(σ_max, σ_min, N+1)[:-1]. */
        double sigma_max = (double)(float)(1.0 - 1.0 / TRAIN_STEPS);
        for (int i = 0; i < N; i++) {
            double s = shift_f64(shift, linspace_at(sigma_max, 0.0, N + 1, i));
            sigmas[i] = (float)s;
            timesteps[i] = (float)(int64_t)(s * TRAIN_STEPS);
        }
    } else if (kind == SF_SAMPLER_UNIPC) {
        /* UniPCMultistepScheduler, use_flow_sigmas: linspace(1, 1/1000, N+1)[:-1], flow_shift,
         * σ_0 moved off 1 by 1e-6 (its guard against log(0)), all in double. */
        for (int i = 0; i < N; i++) {
            double s = shift_f64(shift, linspace_at(1.0, 1.0 / TRAIN_STEPS, N + 1, i));
            if (i == 0 && fabs(s - 1.0) < 1e-6) s -= 1e-6;
            sigmas[i] = (float)s;
            timesteps[i] = (float)(int64_t)(s * TRAIN_STEPS);
        }
    } else {
        /* FlowMatchEulerDiscreteScheduler(shift): its init table t = 1000..1 in fp32, σ = t/1000
         * shifted in fp32 gives σ_max, σ_min; set_timesteps: linspace(σ_max·1000, σ_min·1000, N)
         * / 1000, shifted again in double, fp32, timesteps = σ·1000 in fp32. */
        float sf = (float)shift;
        double sigma_max = (double)shift_f32(sf, 1.0f);
        double sigma_min = (double)shift_f32(sf, 1.0f / (float)TRAIN_STEPS);
        for (int i = 0; i < N; i++) {
            double t = linspace_at(sigma_max * TRAIN_STEPS, sigma_min * TRAIN_STEPS, N, i);
            float s = (float)shift_f64(shift, t / TRAIN_STEPS);
            sigmas[i] = s;
            timesteps[i] = s * (float)TRAIN_STEPS;
        }
    }
    sigmas[N] = 0.0f;
    /* UniPC takes log(1 − σ): σ must stay below 1 (true for every shift up to the maximum, since
     * both UniPC tables start below 1; checked so a change to the limits cannot slip by) */
    if (kind == SF_SAMPLER_UNIPC && !(sigmas[0] < 1.0f)) {
        SF_ERROR("sampler", "schedule: shift %g makes sigma reach 1; use a smaller shift", shift);
        return SF_E_INVAL;
    }
    return SF_OK;
}

/* ---- lifetime --------------------------------------------------------------------------- */

int sf_sampler_create(enum sf_sampler_kind kind, enum sf_schedule_kind schedule, int n_steps,
                      double shift, double guidance, int64_t n, const float *noise,
                      struct sf_sampler **out)
{
    *out = NULL;
    if (!valid_settings(kind, schedule, n_steps, shift, "sampler") ||
        !valid_guidance(guidance, "sampler"))
        return SF_E_INVAL;
    if (n < 1 || (uint64_t)n > SIZE_MAX / (2 * sizeof(float))) {
        SF_ERROR("sampler", "latent of %lld elements is out of range", (long long)n);
        return SF_E_INVAL;
    }
    struct sf_sampler *s = calloc(1, sizeof *s);
    if (!s) return SF_E_NOMEM;
    s->kind = kind;
    s->schedule = schedule;
    s->n_steps = n_steps;
    s->shift = shift;
    s->guidance = guidance;
    s->n = n;
    size_t nb = (size_t)n * sizeof(float);
    s->sigmas = malloc((size_t)(n_steps + 1) * sizeof(float));
    s->timesteps = malloc((size_t)n_steps * sizeof(float));
    s->x = malloc(nb);
    int ok = s->sigmas && s->timesteps && s->x;
    if (kind == SF_SAMPLER_UNIPC) {
        /* calloc: rows not yet written are zero, so saved files are deterministic */
        s->history = calloc(2 * (size_t)n, sizeof(float));
        s->last_sample = calloc((size_t)n, sizeof(float));
        s->scratch = malloc(nb);
        ok = ok && s->history && s->last_sample && s->scratch;
    }
    if (!ok) {
        sf_sampler_destroy(s);
        return SF_E_NOMEM;
    }
    int st = sf_sampler_schedule(kind, schedule, n_steps, shift, s->sigmas, s->timesteps);
    SF_ASSERT(st == SF_OK); /* settings were validated above */
    if (noise)
        memcpy(s->x, noise, nb);
    else
        memset(s->x, 0, nb);
    *out = s;
    return SF_OK;
}

void sf_sampler_destroy(struct sf_sampler *s)
{
    if (!s) return;
    free(s->sigmas);
    free(s->timesteps);
    free(s->x);
    free(s->history);
    free(s->last_sample);
    free(s->scratch);
    free(s);
}

float sf_sampler_timestep(const struct sf_sampler *s)
{
    SF_ASSERT(s->step >= 0 && s->step < s->n_steps);
    return s->timesteps[s->step];
}

/* ---- steps ------------------------------------------------------------------------------ */

/* λ(σ) = log α − log σ with α = 1 − σ, for 0 < σ < 1. */
static double lambda_of(double sigma)
{
    return log(1.0 - sigma) - log(sigma);
}

static void euler_step(struct sf_sampler *s, const float *v)
{
    /* FlowMatchEulerDiscreteScheduler.step: dt = σ_next − σ in fp32, x + dt·v. */
    const float dt = s->sigmas[s->step + 1] - s->sigmas[s->step];
    float *x = s->x;
    for (int64_t i = 0; i < s->n; i++)
        x[i] = x[i] + dt * v[i];
}

/* UniC (fm_solvers_unipc.py multistep_uni_c_bh_update, bh2, predict_x0): corrects the sample
 * at step k, using m (x0 prediction at step k), the history (x0 predictions at k−1, k−2) and
 * last_sample (the sample at k−1). Writes the corrected sample to x and to last_sample. */
static void unic_correct(struct sf_sampler *s, const float *m, int order)
{
    const int k = s->step;
    const double sig_t = s->sigmas[k], sig_s0 = s->sigmas[k - 1];
    SF_ASSERT(sig_t > 0 && order >= 1 && order <= 2);
    const double alpha_t = 1.0 - sig_t;
    const double lam_t = lambda_of(sig_t), lam_s0 = lambda_of(sig_s0);
    const double h = lam_t - lam_s0, hh = -h;
    const double h_phi_1 = expm1(hh), b_h = expm1(hh);
    double rho_d1 = 0, rho_t = 0.5, rk = 1;
    if (order == 2) {
        rk = (lambda_of(s->sigmas[k - 2]) - lam_s0) / h;
        /* R·ρ = b with R = [[1, 1], [rk, 1]] and, for hh = −h and B = expm1(hh):
         * g1 = expm1(hh)/hh − 1, b1 = g1/B; g2 = g1/hh − 1/2, b2 = 2·g2/B (the reference's
         * h_phi_k recursion for i = 1, 2) */
        double h_phi_k = h_phi_1 / hh - 1.0;
        double b1 = h_phi_k * 1.0 / b_h;
        h_phi_k = h_phi_k / hh - 1.0 / 2.0;
        double b2 = h_phi_k * 2.0 / b_h;
        rho_d1 = (b1 - b2) / (1.0 - rk);
        rho_t = b1 - rho_d1;
    }
    const float c_x = (float)(sig_t / sig_s0), c_m0 = (float)(alpha_t * h_phi_1);
    const float c_b = (float)(alpha_t * b_h), f_rk = (float)rk;
    const float f_rho_d1 = (float)rho_d1, f_rho_t = (float)rho_t;
    const float *m0 = s->history + s->n, *m1 = s->history;
    float *last = s->last_sample, *x = s->x;
    for (int64_t i = 0; i < s->n; i++) {
        float xt_ = c_x * last[i] - c_m0 * m0[i];
        float corr = order == 2 ? f_rho_d1 * ((m1[i] - m0[i]) / f_rk) : 0.0f;
        float d1_t = m[i] - m0[i];
        x[i] = xt_ - c_b * (corr + f_rho_t * d1_t);
    }
}

/* UniP (multistep_uni_p_bh_update, bh2, predict_x0) from step k to k+1: x and last_sample hold
 * the (corrected) sample at k, history row 1 is m at k, row 0 m at k−1 (order 2). */
static void unip_predict(struct sf_sampler *s, int order)
{
    const int k = s->step;
    const double sig_s0 = s->sigmas[k], sig_t = s->sigmas[k + 1];
    double c_x, c_m0, c_b, rk = 1;
    if (sig_t == 0.0) {
        /* λ_t = +inf: expm1(−inf) = −1, σ_t/σ_s0 = 0, α_t = 1; order 2 would divide by rk = 0
         * in the reference as well, which lower_order_final avoids. */
        SF_ASSERT(order == 1);
        c_x = 0.0;
        c_m0 = -1.0;
        c_b = -1.0;
    } else {
        const double alpha_t = 1.0 - sig_t;
        const double lam_s0 = lambda_of(sig_s0), h = lambda_of(sig_t) - lam_s0;
        const double h_phi_1 = expm1(-h);
        c_x = sig_t / sig_s0;
        c_m0 = alpha_t * h_phi_1;
        c_b = alpha_t * h_phi_1; /* bh2: B(h) = expm1(−h) */
        if (order == 2) rk = (lambda_of(s->sigmas[k - 1]) - lam_s0) / h;
    }
    const float f_x = (float)c_x, f_m0 = (float)c_m0, f_b = (float)c_b, f_rk = (float)rk;
    const float *m0 = s->history + s->n, *m1 = s->history;
    float *x = s->x;
    for (int64_t i = 0; i < s->n; i++) {
        float xt_ = f_x * x[i] - f_m0 * m0[i];
        float pred = order == 2 ? 0.5f * ((m1[i] - m0[i]) / f_rk) : 0.0f;
        x[i] = xt_ - f_b * pred;
    }
}

static void unipc_step(struct sf_sampler *s, const float *v)
{
    const int64_t n = s->n;
    const int k = s->step;
    const float sigma = s->sigmas[k];
    float *m = s->scratch;
    for (int64_t i = 0; i < n; i++)
        m[i] = s->x[i] - sigma * v[i];
    if (k > 0) unic_correct(s, m, s->last_order);
    /* history: row 0 <- row 1, row 1 <- m */
    memcpy(s->history, s->history + n, (size_t)n * sizeof(float));
    memcpy(s->history + n, m, (size_t)n * sizeof(float));
    int order = s->n_steps - k < 2 ? s->n_steps - k : 2; /* lower_order_final */
    if (order > s->n_hist + 1) order = s->n_hist + 1;    /* warm-up */
    s->last_order = order;
    memcpy(s->last_sample, s->x, (size_t)n * sizeof(float));
    unip_predict(s, order);
    if (s->n_hist < 2) s->n_hist++;
}

void sf_sampler_step(struct sf_sampler *s, const float *v)
{
    SF_ASSERT(s->step >= 0 && s->step < s->n_steps);
    if (s->kind == SF_SAMPLER_EULER)
        euler_step(s, v);
    else
        unipc_step(s, v);
    s->step++;
}

void sf_sampler_cfg(float *out, const float *cond, const float *uncond, float g, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = uncond[i] + g * (cond[i] - uncond[i]);
}

/* ---- the state as fields ---------------------------------------------------------------- */

static struct sf_sampler_field field(const char *name, enum sf_dtype dt, int ndim, int64_t d0,
                                     int64_t d1, void *data)
{
    struct sf_sampler_field f = {name, dt, ndim, {d0, d1}, data};
    return f;
}

int sf_sampler_fields(struct sf_sampler *s, struct sf_sampler_field f[SF_SAMPLER_MAX_FIELDS])
{
    int k = 0;
    f[k++] = field("kind", SF_DTYPE_I32, 0, 0, 0, &s->kind);
    f[k++] = field("schedule", SF_DTYPE_I32, 0, 0, 0, &s->schedule);
    f[k++] = field("n_steps", SF_DTYPE_I32, 0, 0, 0, &s->n_steps);
    f[k++] = field("shift", SF_DTYPE_F64, 0, 0, 0, &s->shift);
    f[k++] = field("guidance", SF_DTYPE_F64, 0, 0, 0, &s->guidance);
    f[k++] = field("n", SF_DTYPE_I64, 0, 0, 0, &s->n);
    f[k++] = field("step", SF_DTYPE_I32, 0, 0, 0, &s->step);
    f[k++] = field("n_hist", SF_DTYPE_I32, 0, 0, 0, &s->n_hist);
    f[k++] = field("last_order", SF_DTYPE_I32, 0, 0, 0, &s->last_order);
    f[k++] = field("sigmas", SF_DTYPE_F32, 1, s->n_steps + 1, 0, s->sigmas);
    f[k++] = field("timesteps", SF_DTYPE_F32, 1, s->n_steps, 0, s->timesteps);
    f[k++] = field("x", SF_DTYPE_F32, 1, s->n, 0, s->x);
    if (s->kind == SF_SAMPLER_UNIPC) {
        f[k++] = field("history", SF_DTYPE_F32, 2, 2, s->n, s->history);
        f[k++] = field("last_sample", SF_DTYPE_F32, 1, s->n, 0, s->last_sample);
    }
    SF_ASSERT(k <= SF_SAMPLER_MAX_FIELDS);
    return k;
}

int sf_sampler_validate(const struct sf_sampler *s, const char *what)
{
    if (!valid_settings(s->kind, s->schedule, s->n_steps, s->shift, what) ||
        !valid_guidance(s->guidance, what))
        return SF_E_FORMAT;
    if (s->step < 0 || s->step > s->n_steps) {
        SF_ERROR("sampler",
                 "%s: step %d is outside 0..%d (n_steps); the state is damaged, "
                 "start the unit again",
                 what, s->step, s->n_steps);
        return SF_E_FORMAT;
    }
    if (s->kind == SF_SAMPLER_UNIPC) {
        int want_hist = s->step < 2 ? s->step : 2;
        int max_order = s->step < 2 ? s->step : 2;
        if (s->n_hist != want_hist || s->last_order < (s->step > 0) || s->last_order > max_order) {
            SF_ERROR("sampler",
                     "%s: n_hist %d / last_order %d do not fit step %d; the state is "
                     "damaged, start the unit again",
                     what, s->n_hist, s->last_order, s->step);
            return SF_E_FORMAT;
        }
    }
    float sig[SF_SAMPLER_MAX_STEPS + 1], ts[SF_SAMPLER_MAX_STEPS];
    int st = sf_sampler_schedule(s->kind, s->schedule, s->n_steps, s->shift, sig, ts);
    if (st != SF_OK) return SF_E_FORMAT;
    if (memcmp(sig, s->sigmas, (size_t)(s->n_steps + 1) * sizeof(float)) != 0 ||
        memcmp(ts, s->timesteps, (size_t)s->n_steps * sizeof(float)) != 0) {
        SF_ERROR("sampler",
                 "%s: sigmas/timesteps differ from the %s/%s schedule this build "
                 "computes for %d steps, shift %g; resume with the shotfarm that wrote it or "
                 "start the unit again",
                 what, sf_sampler_kind_name(s->kind), sf_schedule_kind_name(s->schedule),
                 s->n_steps, s->shift);
        return SF_E_FORMAT;
    }
    return SF_OK;
}
