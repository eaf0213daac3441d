# Sourced by the echo scripts (echo_profile.sh, echo_callgrind.sh): a
# server's name -> its program in BENCH_DIR and the environment it runs
# with. Names: epoll (hand-written), uring_raw (hand-written io_uring),
# tulip (on epoll), tulip_uring, tulip_uring1 (io_uring, one-shot recv),
# tulip_uringS (io_uring, spin before sleep: TULIP_URING_SPIN=1), libuv. Unknown names print nothing.
echo_prog() { # BENCH_DIR NAME
    case "$2" in
    epoll) echo "$1/echo_epoll" ;;
    uring_raw) echo "$1/echo_uring" ;;
    tulip|tulip_uring|tulip_uring1|tulip_uringS) echo "$1/echo_tulip" ;;
    libuv) echo "$1/echo_uv" ;;
    esac
}
echo_env() { # NAME
    case "$1" in
    tulip) echo "TULIP_BACKEND=epoll" ;;
    tulip_uring) echo "TULIP_BACKEND=io_uring" ;;
    tulip_uring1) echo "TULIP_BACKEND=io_uring TULIP_URING_MULTISHOT=0" ;;
    tulip_uringS) echo "TULIP_BACKEND=io_uring TULIP_URING_SPIN=1" ;;
    esac
}
