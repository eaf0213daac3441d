/* tulip: an asynchronous runtime for C. Umbrella header: everything public
 * (each header below carries its own extern "C" guard for C++). */
#ifndef TULIP_H
#define TULIP_H

#include "tulip/version.h"
#include "tulip/common.h"
#include "tulip/loop.h"
#include "tulip/task.h"
#include "tulip/io.h"
#include "tulip/file.h"
#include "tulip/sync.h"
#include "tulip/net.h"
#include "tulip/signal.h"
#include "tulip/stream.h"
#include "tulip/pool.h"
#include "tulip/runtime.h"
#include "tulip/process.h"
#include "tulip/http_parser.h"
#include "tulip/http.h"
#include "tulip/debug.h"
#include "tulip/tls.h" /* defined when built with OpenSSL: TULIP_HAVE_TLS */

#endif
