/* winograd.c — Winograd F(2x2, 3x3) for the 3x3 spatial taps of a conv3d at spatial stride 1
 * (the VAE's causal 3x3x3 convs and its 3x3 resample convs). Called by conv3d.c for a prepared
 * conv (struct sf_conv3d_plan) whose algorithm is SF_CONV_WINOGRAD.
 *
 * Every 2x2 output tile reads a 4x4 input tile d; with the transforms of Lavin & Gray (2016)
 *   V = B^T d B (4x4),  U = G g G^T (4x4, once per plan),  Y = A^T (sum over cin, dt of U ⊙ V) A
 * the 9 multiplies per output pixel and input channel of a 3x3 tap become 16 per 2x2 tile, i.e.
 * 4 per pixel: 2.25x fewer. The sum over input channels and temporal taps is, for each of the 16
 * points, one GEMM M[pt] (cout x tiles) = U[pt] (cout x kt·cin) · V[pt] (kt·cin x tiles) — the
 * temporal taps are just more rows of K. One task = one output frame x WINO_P tiles: it
 * transforms its input tiles into its own scratch, runs the 16 single-threaded sgemms and
 * transforms the result back into y (cropping the last row/column of tiles for odd sizes). The
 * task split depends only on the shapes, so results do not depend on the thread count.
 * Accuracy: the transforms only add, subtract and halve, so the error is a few ulps of the sums
 * of |terms| (tests/kernels/test_winograd.c measures it against the direct path).
 * The subtle thing: the tile grid starts at output (0, 0), so input tile (ty, tx) starts at
 * (2ty - ph, 2tx - pw) and may hang over any border; the row buffer is zero-filled there. */
#include <string.h>

#include "cpu.h"
#include "sf_status.h"

#define WINO_MAX_P 256 /* most tiles per task (also bounds a tile row segment) */
#define WINO_SLACK 16  /* columns past a segment the vector transforms may touch (>= VL) */
/* Input-transform scratch per task, bytes: WINO_P = this / (16 · kt·cin · 4), in [16, 256]. */
#define WINO_V_BYTES ((size_t)8 << 20)

struct wino_job {
    const struct conv_geom *g;
    const float *x, *u, *bias;
    float *y;
    int64_t tw, n_tiles, P, n_blocks;
};

struct wweight_job {
    const float *w;
    float *u;
    int64_t cout, K;
};

/* The 16 transformed values of every 3x3 tap of output channel co. */
static void wweight_item(void *ctx, int64_t co)
{
    const struct wweight_job *jb = ctx;
    int64_t cout = jb->cout, K = jb->K;
    for (int64_t k = 0; k < K; k++) {
        const float *g = jb->w + (co * K + k) * 9;
        double t[4][3]; /* G g: rows of G applied down the columns of g */
        for (int c = 0; c < 3; c++) {
            double g0 = g[c], g1 = g[3 + c], g2 = g[6 + c];
            t[0][c] = g0;
            t[1][c] = 0.5 * (g0 + g1 + g2);
            t[2][c] = 0.5 * (g0 - g1 + g2);
            t[3][c] = g2;
        }
        for (int a = 0; a < 4; a++) { /* (G g) G^T */
            double r[4] = {t[a][0], 0.5 * (t[a][0] + t[a][1] + t[a][2]),
                           0.5 * (t[a][0] - t[a][1] + t[a][2]), t[a][2]};
            for (int b = 0; b < 4; b++)
                jb->u[((a * 4 + b) * cout + co) * K + k] = (float)r[b];
        }
    }
}

void sf_cpu_wino_weight(const float *w, int64_t cout, int64_t kt, int64_t cin, float *u)
{
    struct wweight_job jb = {w, u, cout, kt * cin};
    sf_parallel_for(cout, wweight_item, &jb);
}

/* The input transform of the n tiles (ty, tx0 .. tx0+n-1) of one input plane xt into
 * v[pt * ldv + j] (and junk up to WINO_SLACK columns past n): the 4 input rows are copied into
 * a zero-filled buffer first — tiles hang over the borders, and the vector loop reads whole
 * vectors past the last tile. (Reading x in place and redoing the border tiles was measured
 * 1-8% slower in CPU time: short rows make the border work weigh.) */
static void tiles_in(const struct conv_geom *g, const float *xt, int64_t ty, int64_t tx0, int64_t n,
                     float *v, int64_t ldv)
{
    float buf[4][2 * (WINO_MAX_P + WINO_SLACK) + 2];
    int64_t h0 = 2 * ty - g->ph, w0 = 2 * tx0 - g->pw, len = 2 * n + 2;
    int64_t span = 2 * (n + WINO_SLACK) + 2;
    for (int r = 0; r < 4; r++) {
        int64_t hi = h0 + r;
        float *row = buf[r];
        if (hi < 0 || hi >= g->H) {
            memset(row, 0, (size_t)span * sizeof(float));
            continue;
        }
        const float *src = xt + hi * g->W;
        int64_t lo = w0 < 0 ? -w0 : 0, end = g->W - w0 < len ? g->W - w0 : len;
        if (end < lo) end = lo;
        memset(row, 0, (size_t)lo * sizeof(float));
        memcpy(row + lo, src + w0 + lo, (size_t)(end - lo) * sizeof(float));
        memset(row + end, 0, (size_t)(span - end) * sizeof(float));
    }
    sf_cpu_simd()->wino_in(buf[0], buf[1], buf[2], buf[3], n, v, ldv);
}

/* The output transform of the n tiles (ty, tx0 ..) of channel plane yt (Ho x Wo) from
 * m[pt * ldm + j], plus bias b: straight into yt, through a row buffer where the last tile
 * column or row is cropped (odd sizes). */
static void tiles_out(const struct conv_geom *g, const float *m, int64_t ldm, float b, int64_t ty,
                      int64_t tx0, int64_t n, float *yt)
{
    int64_t wo0 = 2 * tx0, ho = 2 * ty, nw = g->Wo - wo0 < 2 * n ? g->Wo - wo0 : 2 * n;
    float *y0 = yt + ho * g->Wo + wo0, *y1 = ho + 1 < g->Ho ? y0 + g->Wo : NULL;
    if (nw == 2 * n) {
        sf_cpu_simd()->wino_out(m, ldm, b, n, y0, y1);
        return;
    }
    float buf[2][2 * WINO_MAX_P];
    sf_cpu_simd()->wino_out(m, ldm, b, n, buf[0], y1 ? buf[1] : NULL);
    memcpy(y0, buf[0], (size_t)nw * sizeof(float));
    if (y1) memcpy(y1, buf[1], (size_t)nw * sizeof(float));
}

static void wino_item(void *ctx, int64_t item)
{
    const struct wino_job *jb = ctx;
    const struct conv_geom *g = jb->g;
    int64_t to = item / jb->n_blocks, p0 = item % jb->n_blocks * jb->P;
    int64_t np = jb->n_tiles - p0 < jb->P ? jb->n_tiles - p0 : jb->P, d0, d1;
    sf_cpu_conv_tap_range(g, to, &d0, &d1);
    /* each point's V is Kc x np and M cout x np, with rows of ld = np + WINO_SLACK so that the
     * vector transforms may run past the last tile of a row */
    int64_t Kc = (d1 - d0) * g->cin, Kfull = g->kt * g->cin, HW = g->H * g->W;
    int64_t ld = np + WINO_SLACK, kr = Kc > 0 ? Kc : 1;
    float *v = sf_cpu_scratch(SCRATCH_WINO_V, (size_t)(16 * kr * ld) * sizeof(float));
    float *m = sf_cpu_scratch(SCRATCH_WINO_M, (size_t)(16 * g->cout * ld) * sizeof(float));
    for (int64_t dt = d0; dt < d1; dt++) {
        int64_t ti = to * g->st - g->pt + dt;
        for (int64_t ci = 0; ci < g->cin; ci++) {
            const float *xt = jb->x + (ci * g->T + ti) * HW;
            float *vk = v + ((dt - d0) * g->cin + ci) * ld; /* row k = (dt - d0)·cin + ci */
            for (int64_t p = p0; p < p0 + np;) { /* one tile row segment at a time, in order */
                int64_t ty = p / jb->tw, tx = p % jb->tw;
                int64_t n = jb->tw - tx < p0 + np - p ? jb->tw - tx : p0 + np - p;
                tiles_in(g, xt, ty, tx, n, vk + (p - p0), Kc * ld);
                p += n;
            }
        }
    }
    for (int pt = 0; pt < 16; pt++)
        sf_cpu_sgemm_serial(0, 0, g->cout, np, Kc, 1.0f,
                            jb->u + (pt * g->cout) * Kfull + d0 * g->cin, Kfull, v + pt * Kc * ld,
                            ld, 0.0f, m + pt * g->cout * ld, ld);
    int64_t HWo = g->Ho * g->Wo;
    for (int64_t co = 0; co < g->cout; co++) {
        float *yt = jb->y + (co * g->To + to) * HWo;
        float b = jb->bias ? jb->bias[co] : 0.0f;
        for (int64_t p = p0; p < p0 + np;) {
            int64_t ty = p / jb->tw, tx = p % jb->tw;
            int64_t n = jb->tw - tx < p0 + np - p ? jb->tw - tx : p0 + np - p;
            tiles_out(g, m + co * ld + (p - p0), g->cout * ld, b, ty, tx, n, yt);
            p += n;
        }
    }
}

void sf_cpu_wino_run(const struct conv_geom *g, const float *x, const float *u, const float *bias,
                     float *y)
{
    SF_ASSERT(g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1);
    struct wino_job jb = {.g = g, .x = x, .u = u, .bias = bias, .y = y};
    int64_t th = (g->Ho + 1) / 2;
    jb.tw = (g->Wo + 1) / 2;
    jb.n_tiles = th * jb.tw;
    int64_t P = (int64_t)(WINO_V_BYTES / (16 * sizeof(float) * (size_t)(g->kt * g->cin))) / 16 * 16;
    jb.P = P < 16 ? 16 : P > WINO_MAX_P ? WINO_MAX_P : P;
    jb.n_blocks = (jb.n_tiles + jb.P - 1) / jb.P;
    sf_parallel_for(g->To * jb.n_blocks, wino_item, &jb);
}
