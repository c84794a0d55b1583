
/*
 * Copyright (C) nginx video ingest developers
 *
 * libFuzzer harness for container sniffing: the input is the first
 * bytes of an upload, and also a declared media type.
 */


#include "ingest_sniff.h"

#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                 m;
    unsigned            i;
    ingest_container_t  c;

    c = ingest_sniff(data, size);

    if ((unsigned) c >= INGEST_CONTAINER_LAST
        || ingest_container_name(c) == NULL)
    {
        abort();
    }

    /* sniffing looks at INGEST_SNIFF_BYTES at most */

    if (size > INGEST_SNIFF_BYTES
        && ingest_sniff(data, INGEST_SNIFF_BYTES) != c)
    {
        abort();
    }

    for (i = 0; i < INGEST_CONTAINER_LAST; i++) {
        m = ingest_sniff_matches((ingest_container_t) i, data, size);

        if (m != 0 && m != 1) {
            abort();
        }

        if (i == INGEST_CONTAINER_UNKNOWN && m != 0) {
            abort();
        }
    }

    return 0;
}
