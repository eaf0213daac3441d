/* tulip: an asynchronous runtime for C. Umbrella header. */
#ifndef TULIP_H
#define TULIP_H

#include "tulip/version.h"
#include "tulip/common.h"
#include "tulip/loop.h"
#include "tulip/task.h"
#include "tulip/io.h"
#if __has_include("tulip/sync.h")
#include "tulip/sync.h"
#endif
#if __has_include("tulip/net.h")
#include "tulip/net.h"
#endif
#if __has_include("tulip/stream.h")
#include "tulip/stream.h"
#endif
#if __has_include("tulip/pool.h")
#include "tulip/pool.h"
#endif
#if __has_include("tulip/process.h")
#include "tulip/process.h"
#endif
#if __has_include("tulip/tls.h")
#include "tulip/tls.h"
#endif
#if __has_include("tulip/http.h")
#include "tulip/http.h"
#endif

#endif
