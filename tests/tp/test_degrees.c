/* Valid tensor-parallel degrees and the message for an invalid one. */
#include "sf_comm.h"
#include "sf_status.h"
#include "sf_test.h"

int main(void)
{
    int deg[16];
    int n;
    const int want13[] = {1, 2, 4}; /* 12 heads: 1,2,3,4,6,12; 8960 = 2^8*5*7: 3,6,12 fail */
    n = sf_tp_valid_degrees(12, 8960, deg, 16);
    CHECK_EQ_INT(n, 3);
    for (int i = 0; i < 3 && i < n; i++) CHECK_EQ_INT(deg[i], want13[i]);
    n = sf_tp_valid_degrees(40, 13824, deg, 16); /* Wan 14B: 40 = 2^3*5, 13824 = 2^9*3^3 */
    CHECK_EQ_INT(n, 4);
    CHECK(n == 4 && deg[0] == 1 && deg[1] == 2 && deg[2] == 4 && deg[3] == 8);
    char why[256];
    CHECK_EQ_INT(sf_tp_check_model(4, 12, 8960, "wan2.1-t2v-1.3b", why, sizeof why), SF_OK);
    CHECK_EQ_INT(sf_tp_check_model(3, 12, 8960, "wan2.1-t2v-1.3b", why, sizeof why), SF_E_INVAL);
    CHECK_STR(why, "--tp 3 does not divide the 8960 FFN columns of wan2.1-t2v-1.3b; valid degrees: 1 2 4");
    CHECK_EQ_INT(sf_tp_check_model(5, 12, 8960, "m", why, sizeof why), SF_E_INVAL);
    CHECK_STR(why, "--tp 5 does not divide the 12 attention heads of m; valid degrees: 1 2 4");
    CHECK_EQ_INT(sf_tp_check_model(0, 12, 8960, "m", why, sizeof why), SF_E_INVAL);
    struct sf_comm *self = sf_comm_self();
    float x[3] = {1, 2, 3};
    CHECK_EQ_INT(sf_comm_allreduce_sum_f32(self, x, 3), SF_OK);
    CHECK(x[0] == 1 && x[2] == 3);
    return sf_test_result("tp_degrees");
}
