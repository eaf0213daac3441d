#ifndef TULIP_VERSION_H
#define TULIP_VERSION_H

#define TULIP_VERSION_MAJOR 0
#define TULIP_VERSION_MINOR 1
#define TULIP_VERSION_PATCH 0
#define TULIP_VERSION_STRING "0.1.0"

#include "tulip/common.h"

/* The version of the library actually linked, as "MAJOR.MINOR.PATCH";
 * compare with TULIP_VERSION_STRING to catch header/library skew. */
TULIP_API const char *tulip_version(void);

#endif
