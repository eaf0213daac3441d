// Boost.Context peer: the raw jump_fcontext switch and a spawn+join made of
// make_fcontext + jump into a fresh context that runs to its end and jumps
// back. Prints CSV rows "fcontext,<metric>,<value>"; never fails on figures.
//   fcontext [switches] [spawns]
#include <boost/context/detail/fcontext.hpp>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace ctx = boost::context::detail;

static double now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

// Ping-pong partner: bounces every jump straight back.
static void bouncer(ctx::transfer_t t)
{
    for (;;)
        t = ctx::jump_fcontext(t.fctx, nullptr);
}

// A "task" body that does nothing: returns control to its creator for good.
static void nop_task(ctx::transfer_t t)
{
    ctx::jump_fcontext(t.fctx, nullptr);
    std::abort(); // never resumed
}

int main(int argc, char **argv)
{
    long switches = argc > 1 ? std::atol(argv[1]) : 20000000;
    long spawns = argc > 2 ? std::atol(argv[2]) : 2000000;
    const std::size_t size = 64 * 1024;
    char *stack = static_cast<char *>(std::aligned_alloc(64, size));
    if (!stack)
        return 1;

    ctx::fcontext_t co = ctx::make_fcontext(stack + size, size, bouncer);
    long rounds = switches / 2;
    double a = now_ns();
    for (long i = 0; i < rounds; i++)
        co = ctx::jump_fcontext(co, nullptr).fctx;
    double b = now_ns();
    std::printf("fcontext,raw_switch_ns,%.2f\n", (b - a) / (double)(2 * rounds));

    // The stack is reused, as tulip reuses freed stacks in steady state.
    a = now_ns();
    for (long i = 0; i < spawns; i++) {
        ctx::fcontext_t c = ctx::make_fcontext(stack + size, size, nop_task);
        ctx::jump_fcontext(c, nullptr);
    }
    b = now_ns();
    std::printf("fcontext,spawn_join_ns,%.2f\n", (b - a) / (double)spawns);
    std::free(stack);
    return 0;
}
