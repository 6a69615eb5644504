/* Named DiT configs: the 1.3B and 14B parameter counts match WAN-FACTS § 8 (1.419e9 and
 * 14.29e9, computed there from the tensor shapes), and bad configs are refused with a reason. */
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
    CHECK_EQ_INT(n, 3);
    return sf_test_result("base_config");
}
