/* FLOP counts against numbers computed by hand (docs/cost-model.md) and the table of
 * WAN-FACTS § 8 (which was computed independently from the tensor shapes). */
#include "sf_cost.h"
#include "sf_test.h"

static void near(const char *what, double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want))) {
        fprintf(stderr, "%s: got %.6g, want %.6g (within %.2g%%)\n", what, got, want, rel * 100);
        sf_test_failures++;
    }
}

int main(void)
{
    struct sf_dit_config c13, c14, tiny;
    CHECK(sf_dit_config_by_name("wan2.1-t2v-1.3b", &c13) == 0);
    CHECK(sf_dit_config_by_name("wan2.1-t2v-14b", &c14) == 0);
    CHECK(sf_dit_config_by_name("tiny", &tiny) == 0);

    /* 81 frames at 480x832: latent 21 x 60 x 104 -> 21 x 30 x 52 tokens. */
    CHECK_EQ_INT(sf_cost_dit_tokens(&c13, 21, 60, 104), 32760);
    CHECK_EQ_INT(sf_cost_dit_tokens(&c13, 21, 90, 160), 75600);

    struct sf_cost_dit d = sf_cost_dit_forward(&c13, 32760, 512);
    near("1.3B linear @32760", d.linear, 82e12, 0.01);
    near("1.3B attention @32760", d.attn_self + d.attn_cross, 201e12, 0.01);
    near("1.3B total @32760", d.total, 283e12, 0.01);
    /* Exact: one block's FFN is 4 L D F. */
    near("1.3B FFN share", d.linear - 30 * (12.0 * 32760 * 1536 * 1536 + 4.0 * 512 * 1536 * 1536),
         30 * 4.0 * 32760 * 1536 * 8960, 1e-12);
    near("1.3B total @75600", sf_cost_dit_forward(&c13, 75600, 512).total, 1250e12, 0.01);
    d = sf_cost_dit_forward(&c14, 32760, 512);
    near("14B linear @32760", d.linear, 785e12, 0.01);
    near("14B attention @32760", d.attn_self + d.attn_cross, 893e12, 0.01);
    near("14B total @75600", sf_cost_dit_forward(&c14, 75600, 512).total, 6523e12, 0.01);
    /* A precomputed context saves the text MLP and the cross-attention k/v of the text:
     * 2*512*(4096*5120 + 5120^2) + 40*4*512*5120^2 = 2.41 TFLOP on 14B. */
    near("14B text side", d.text_side, 2.0 * 512 * (4096.0 * 5120 + 5120.0 * 5120) + 40 * 4.0 * 512 * 5120.0 * 5120, 1e-12);
    /* The embeddings are a small, positive part. */
    CHECK(d.embed > 0 && d.embed < 0.01 * d.total);
    CHECK(sf_cost_dit_forward(&tiny, 0, 512).total > 0);

    /* umT5-XXL on 512 tokens: per layer 4 projections 2*512*4096*4096*4 = 6.872e10, gated FFN
     * 3*2*512*4096*10240 = 1.288e11, attention 4*512^2*4096 = 4.295e9; x 24 = 4.85e12. */
    near("umT5-XXL @512", sf_cost_umt5_encode(4096, 4096, 10240, 24, 512), 4.849e12, 0.001);

    /* VAE decode at 480x832 (latent 60x104), base width 96: one 4-frame chunk is 13.55 TFLOP
     * by the stage-by-stage sum in docs/cost-model.md; the first chunk (1 frame, no temporal
     * upsampling) is cheaper; 21 latent frames = first + 20 chunks. */
    double one = sf_cost_vae_decode(96, 1, 60, 104), two = sf_cost_vae_decode(96, 2, 60, 104);
    near("VAE decode chunk @480x832", two - one, 13.55e12, 0.005);
    near("VAE decode first chunk @480x832", one, 4.35e12, 0.005);
    near("VAE decode 81 frames", sf_cost_vae_decode(96, 21, 60, 104), one + 20 * (two - one), 1e-9);
    /* Encode: the first frame alone, then 4 frames per call; a 4-frame chunk costs more than
     * the single first frame and less than four of them plus the temporal convs' share. */
    double e1 = sf_cost_vae_encode(96, 1, 60, 104), e2 = sf_cost_vae_encode(96, 2, 60, 104);
    CHECK(e1 > 0 && e2 - e1 > 2.5 * e1 && e2 - e1 < 4.0 * e1);
    near("VAE encode still @480x832", e1, 2.718e12, 0.005);
    CHECK(sf_cost_vae_decode(96, 0, 60, 104) == 0);
    return sf_test_result("cost_flops");
}
