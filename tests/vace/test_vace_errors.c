#include "sf_test.h"
int main(void) { return sf_test_result("vace_errors"); }
