// Go peer for the core benchmarks: goroutine switch (runtime.Gosched
// ping-pong), spawn+join (go f(); wg.Wait(), one at a time), idle bytes per
// goroutine blocked on a channel, and unbuffered channel ping-pong.
// Prints CSV rows "go,<metric>,<value>". GOMAXPROCS is left to the caller.
//
//	core switch N | spawn N | idle N | chan N | sockidle N
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func rssBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fields := strings.Fields(line)
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// Two goroutines yielding to each other; one Gosched is one switch.
func benchSwitch(n int) float64 {
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	for g := 0; g < 2; g++ {
		go func() {
			for i := 0; i < n/2; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / float64(n/2*2)
}

func benchSpawn(n int) float64 {
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
		wg.Wait()
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func benchIdle(n int) float64 {
	block := make(chan struct{})
	var started sync.WaitGroup
	runtime.GC()
	before := rssBytes()
	started.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-block
		}()
	}
	started.Wait()
	after := rssBytes()
	close(block)
	return float64(after-before) / float64(n)
}

// Unbuffered ping-pong; one round trip is a send each way.
func benchChan(n int) float64 {
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	d := time.Since(start)
	close(ping)
	return float64(d.Nanoseconds()) / float64(n)
}

// Goroutines parked in conn.Read on unix socketpairs (one pair each up to
// the fd limit, then several readers per socket), as bench/idle_compact.c's
// "sock" row (issue 18). Returns VmRSS growth per goroutine and the sockets used.
func benchSockIdle(n int) (float64, int) {
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	rl.Cur = rl.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	room := (int(rl.Cur) - 64) / 2
	socks := n
	if socks > room {
		socks = room
	}
	conns := make([]net.Conn, socks)
	for i := range conns {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err != nil {
			panic(err)
		}
		f := os.NewFile(uintptr(fds[0]), "s")
		c, err := net.FileConn(f)
		if err != nil {
			panic(err)
		}
		f.Close()
		conns[i] = c
	}
	runtime.GC()
	var parked sync.WaitGroup
	parked.Add(n)
	before := rssBytes()
	for i := 0; i < n; i++ {
		c := conns[i%socks]
		go func() {
			buf := make([]byte, 64)
			parked.Done()
			c.Read(buf)
		}()
	}
	parked.Wait()
	runtime.Gosched()
	return float64(rssBytes()-before) / float64(n), socks
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: core switch|spawn|idle|chan|sockidle N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 2 {
		fmt.Fprintln(os.Stderr, "core: bad N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "switch":
		fmt.Printf("go,switch_ns,%.2f\n", benchSwitch(n))
	case "spawn":
		fmt.Printf("go,spawn_join_ns,%.1f\n", benchSpawn(n))
	case "idle":
		fmt.Printf("go,idle_bytes_per_task_%d,%.0f\n", n, benchIdle(n))
	case "chan":
		fmt.Printf("go,chan_pingpong_ns,%.1f\n", benchChan(n))
	case "sockidle":
		b, socks := benchSockIdle(n)
		fmt.Printf("go,sock_idle_bytes_per_task_%d,%.0f\n  %d goroutines reading %d sockets\n", n, b, n, socks)
		os.Exit(0) // the readers never return
	default:
		fmt.Fprintln(os.Stderr, "core: unknown benchmark")
		os.Exit(2)
	}
}
