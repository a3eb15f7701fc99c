/* pki: GSMA-shaped test PKI (issue: test kit). Placeholder until the test-kit work lands. */
#include <stdio.h>

#include "testkit.h"

int tk_pki_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ifpp-testkit pki: not built yet\n");
    return 1;
}
