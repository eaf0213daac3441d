#define _GNU_SOURCE
#include "tulip/version.h"

const char *tulip_version(void)
{
    return TULIP_VERSION_STRING;
}
