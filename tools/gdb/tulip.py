# gdb helpers for programs built on tulip (live processes, x86-64).
#
#   (gdb) source tools/gdb/tulip.py
#   (gdb) info tulip-tasks [LOOP]   every task of the current thread's loop
#                                   (or of the tulip_loop * expression LOOP)
#   (gdb) tulip-bt ID|NAME [LOOP]   backtrace of a suspended task
#
# The loop is found through the thread-local tulip__tls of the selected
# thread, so select the loop's thread first (`thread N`). The program needs
# debug info for tulip (the default RelWithDebInfo build has it).
#
# tulip-bt works as a context switch would: it loads the registers the
# task's last switch saved (rsp, rip, rbp, rbx, r12-r15: on its stack in the
# assembly build, in its ucontext_t in the ucontext build) into the
# selected thread, runs `bt`, and puts the thread's own registers back, so
# the process continues unchanged. Registers cannot be written in a core
# file; there, read the saved frame by hand (see docs/DEBUGGING.md).
import gdb

_STATES = {1: "ready", 2: "running", 3: "waiting", 4: "done"}


def _reason_names():
    try:
        t = gdb.lookup_type("enum tulip__wait_reason")
    except gdb.error:
        return {}
    return {int(f.enumval): f.name.replace("TULIP__WAIT_", "").lower() for f in t.fields()}


def _loop(arg):
    if arg:
        return gdb.parse_and_eval(arg)
    try:
        loop = gdb.parse_and_eval("tulip__tls")["loop"]
    except gdb.error as e:
        raise gdb.GdbError("tulip: cannot read tulip__tls (%s); pass a tulip_loop * expression" % e)
    if int(loop) == 0:
        raise gdb.GdbError("tulip: no loop on this thread; select the loop's thread or pass a loop")
    return loop


def _sched(loop):
    # A loop made by tulip_loop_new is the first member of its scheduler
    # (struct tulip__sched, src/task/task_internal.h).
    return loop.cast(gdb.lookup_type("struct tulip__sched").pointer())


def _tasks(loop):
    # all_tasks is a struct tulip__dlist (src/common/dlist.h) of the tasks'
    # `all` links, newest at the head: walk it from the tail for spawn order.
    task_ptr = gdb.lookup_type("struct tulip_task").pointer()
    off = int(gdb.parse_and_eval("(unsigned long)&((struct tulip_task *)0)->all"))
    link = _sched(loop)["all_tasks"]["tail"]
    seen = []
    while int(link) != 0:
        seen.append(gdb.Value(int(link) - off).cast(task_ptr))
        link = link["prev"]
    return seen


def _symbol(addr):
    addr = int(addr)
    if addr == 0:
        return "?"
    try:
        s = gdb.execute("info symbol 0x%x" % addr, to_string=True).strip()
    except gdb.error:
        return "0x%x" % addr
    return s.split(" in section")[0] if not s.startswith("No symbol") else "0x%x" % addr


def _describe(t, reasons):
    state = int(t["state"])
    text = _STATES.get(state, "state %d" % state)
    if state == 3:
        r = int(t["wait_reason"])
        obj = int(t["wait_object"].cast(gdb.lookup_type("long")))
        name = reasons.get(r, str(r))
        if name in ("fd_read", "fd_write"):
            text += " on fd %d %s" % (obj, "readable" if name == "fd_read" else "writable")
        elif name == "join":
            other = t["wait_object"].cast(t.type)
            text += " on join task %d" % int(other["id"])
        elif name == "sleep":
            text += " on sleep until %d ns" % int(t["timer"]["when"])
        else:
            text += " on %s 0x%x" % (name, obj & 0xFFFFFFFFFFFFFFFF)
    elif state == 4:
        text += " (result %d)" % int(t["result"])
    return text


class InfoTulipTasks(gdb.Command):
    """List the tasks of a tulip loop: info tulip-tasks [LOOP-EXPRESSION]"""

    def __init__(self):
        super().__init__("info tulip-tasks", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        loop = _loop(arg.strip())
        reasons = _reason_names()
        tasks = _tasks(loop)
        print("tulip loop 0x%x: %d tasks alive" % (int(loop), int(loop["stats"]["tasks_alive"])))
        for t in tasks:
            print("  task %d \"%s\": %s; entry %s; spawned at %s" % (
                int(t["id"]), t["name"].string(), _describe(t, reasons),
                _symbol(t["fn"]), _symbol(t["spawn_site"])))


_REGS = ["rsp", "rip", "rbp", "rbx", "r12", "r13", "r14", "r15"]

# The x86-64 frame tulip__ctx_switch saves, in bytes from the saved stack
# pointer: a copy of src/platform/frame_layout.h (TULIP__FRAME_<REG>), which
# Python cannot include; the CTest check frame_layout keeps the two equal.
_FRAME = {"r15": 8, "r14": 16, "r13": 24, "r12": 32, "rbx": 40, "rbp": 48, "rip": 56}
_FRAME_SIZE = 64

# The ucontext build (-DTULIP_CONTEXT=ucontext) keeps a ucontext_t in the
# context instead, which swapcontext filled: each register's index in
# uc_mcontext.gregs (REG_<NAME> of <sys/ucontext.h>, the x86-64 kernel's
# signal-frame order, fixed by the ABI). rsp there is already the stack
# pointer after the switch returned.
_GREGS = {"r12": 4, "r13": 5, "r14": 6, "r15": 7, "rbp": 10, "rbx": 11, "rsp": 15, "rip": 16}


def _trampoline():
    # Where a context that never ran resumes (src/platform/switch_x86_64.S).
    try:
        return int(gdb.parse_and_eval("(unsigned long)&tulip__ctx_trampoline"))
    except gdb.error:
        return None


def _saved_regs(task):
    """The registers a suspended task's last switch saved, and a function
    that undoes any change made to reach them; (None, None) for a task that
    has not run yet, whose context holds only its entry."""
    ctx = task["ctx"]
    if "uc" in [f.name for f in ctx.type.strip_typedefs().fields()]:
        # tulip__ctx_make set fresh, the first switch to it cleared it
        # (src/platform/context_ucontext.c).
        if int(ctx["fresh"]) != 0:
            return None, None
        g = ctx["uc"]["uc_mcontext"]["gregs"]
        return {r: int(g[i]) & 0xFFFFFFFFFFFFFFFF for r, i in _GREGS.items()}, None
    # A compact task's context is made when it first runs (frames ==
    # TULIP__FRAMES_FRESH, src/task/compact.c): until then ctx is stale.
    if int(task["shared"]) != 0 and int(task["frames"]) == 0:
        return None, None
    u64 = gdb.lookup_type("unsigned long").pointer()
    sp = ctx["sp"].cast(u64)
    if int(sp[_FRAME["rip"] // 8]) == _trampoline():
        return None, None
    # A compact task whose frames were saved off its shared stack
    # (src/task/compact.h, frames == TULIP__FRAMES_SAVED): put them back
    # at their addresses for the backtrace, then restore what is there.
    undo = None
    if int(task["shared"]) != 0 and int(task["frames"]) == 2:
        inf = gdb.selected_inferior()
        n = int(task["saved_len"])
        here = inf.read_memory(int(sp), n)
        inf.write_memory(int(sp), inf.read_memory(int(task["saved"]), n))
        undo = lambda: inf.write_memory(int(sp), here)
    new = {r: int(sp[off // 8]) for r, off in _FRAME.items()}
    new["rsp"] = int(sp) + _FRAME_SIZE
    return new, undo


class TulipBt(gdb.Command):
    """Backtrace of a suspended tulip task: tulip-bt ID|NAME [LOOP-EXPRESSION]"""

    def __init__(self):
        super().__init__("tulip-bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv:
            raise gdb.GdbError("usage: tulip-bt ID|NAME [LOOP]")
        loop = _loop(" ".join(argv[1:]))
        want = argv[0]
        task = None
        for t in _tasks(loop):
            if str(int(t["id"])) == want or t["name"].string() == want:
                task = t
                break
        if task is None:
            raise gdb.GdbError("tulip: no task %s in loop 0x%x" % (want, int(loop)))
        state = int(task["state"])
        if state == 4:
            print("task %s has finished: no stack" % want)
            return
        if state == 2:
            print("task %s is running: its stack is the thread's own" % want)
            gdb.execute("bt")
            return
        arch = gdb.selected_frame().architecture().name()
        if "x86-64" not in arch:
            raise gdb.GdbError("tulip-bt supports x86-64 only (this is %s)" % arch)
        gdb.execute("frame 0", to_string=True)
        saved = {r: int(gdb.parse_and_eval("$" + r)) for r in _REGS}
        new, undo = _saved_regs(task)
        if new is None:
            print("task %s has not started yet: no frames" % want)
            return
        try:
            for r in _REGS:
                gdb.execute("set $%s = %d" % (r, new[r]), to_string=True)
            print("task %d \"%s\":" % (int(task["id"]), task["name"].string()))
            gdb.execute("bt")
        finally:
            gdb.execute("frame 0", to_string=True)
            for r in _REGS:
                gdb.execute("set $%s = %d" % (r, saved[r]), to_string=True)
            if undo:
                undo()


InfoTulipTasks()
TulipBt()
