/* Named DiT configs: the 1.3B and 14B parameter counts match WAN-FACTS § 8 (1.419e9 and
 * 14.29e9, computed there from the tensor shapes), the VACE ones add their blocks (1.3B: 15 x
 * (46.4M block + 2.36M proj_out) + proj_in + the 96-channel patch embedding = 0.7350e9; 14B:
 * 8 x (351.4M + 26.2M) + 26.2M + 1.97M = 3.049e9), and bad configs are refused with a reason. */
#include "sf_config.h"
#include "sf_test.h"

int main(void)
{
    struct sf_dit_config c;
    char why[128];
    CHECK(sf_dit_config_by_name("wan2.1-t2v-1.3b", &c) == 0);
    CHECK_EQ_INT(c.dim, 1536);
    CHECK_EQ_INT(c.n_layers, 30);
    double p = sf_dit_config_params(&c);
    CHECK(fabs(p - 1.419e9) < 0.001e9);
    CHECK(sf_dit_config_check(&c, why, sizeof why) == 0);
    CHECK(sf_dit_config_by_name("wan2.1-t2v-14b", &c) == 0);
    p = sf_dit_config_params(&c);
    CHECK(fabs(p - 14.29e9) < 0.01e9);
    CHECK_EQ_INT(c.dim / c.n_heads, 128);
    CHECK(sf_dit_config_by_name("tiny", &c) == 0);
    CHECK(sf_dit_config_check(&c, why, sizeof why) == 0);
    CHECK(sf_dit_config_by_name("wan2.2", &c) == -1);
    c.n_heads = 5;
    CHECK(sf_dit_config_check(&c, why, sizeof why) == -1);
    CHECK(strstr(why, "not divisible by 5 heads") != NULL);
    int n = 0;
    for (const char *const *name = sf_dit_config_names(); *name; name++) n++;
    CHECK_EQ_INT(n, 6);

    /* VACE: the layer lists written out, their parameters, and the order rules */
    struct sf_dit_config t2v;
    CHECK(sf_dit_config_by_name("wan2.1-t2v-1.3b", &t2v) == 0);
    CHECK(sf_dit_config_by_name("wan2.1-vace-1.3b", &c) == 0);
    CHECK_EQ_INT(c.n_vace, 15);
    CHECK_EQ_INT(c.vace_layers[14], 28);
    CHECK_EQ_INT(c.vace_in_dim, 96);
    CHECK(fabs(sf_dit_config_params(&c) - sf_dit_config_params(&t2v) - 0.7350e9) < 0.0005e9);
    CHECK(sf_dit_config_check(&c, why, sizeof why) == 0);
    char list[256];
    CHECK_STR(sf_dit_config_vace_str(&c, list, sizeof list),
              "[0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28]");
    CHECK(sf_dit_config_by_name("wan2.1-t2v-14b", &t2v) == 0);
    CHECK(sf_dit_config_by_name("wan2.1-vace-14b", &c) == 0);
    CHECK_EQ_INT(c.n_vace, 8);
    CHECK_EQ_INT(c.vace_layers[7], 35);
    CHECK(fabs(sf_dit_config_params(&c) - sf_dit_config_params(&t2v) - 3.049e9) < 0.001e9);
    CHECK(sf_dit_config_by_name("tiny-vace", &c) == 0);
    CHECK(sf_dit_config_check(&c, why, sizeof why) == 0);
    c.vace_layers[0] = 1; /* must start at 0 */
    CHECK(sf_dit_config_check(&c, why, sizeof why) == -1);
    CHECK(strstr(why, "vace_layers [1, 2] must start at 0") != NULL);
    c.vace_layers[0] = 0, c.vace_layers[1] = 3; /* beyond the 3 layers */
    CHECK(sf_dit_config_check(&c, why, sizeof why) == -1);
    c.n_vace = 3, c.vace_layers[1] = 2, c.vace_layers[2] = 2; /* not strictly increasing */
    CHECK(sf_dit_config_check(&c, why, sizeof why) == -1);
    CHECK_STR(sf_dit_config_vace_str(&t2v, list, sizeof list), "[]");
    return sf_test_result("base_config");
}
