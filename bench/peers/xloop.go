// The Go peer of bench/xloop.c: unbuffered ping-pong and a buffered (1024)
// stream between two goroutines; run with GOMAXPROCS=2.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	rounds, items := 200000, 2000000
	if len(os.Args) > 1 {
		rounds, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		items, _ = strconv.Atoi(os.Args[2])
	}
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	t0 := time.Now()
	for i := 0; i < rounds; i++ {
		ping <- i
		<-pong
	}
	fmt.Printf("pingpong_ns_per_round,%.0f\n", float64(time.Since(t0).Nanoseconds())/float64(rounds))
	close(ping)

	stream, done := make(chan int, 1024), make(chan int)
	go func() {
		n := 0
		for range stream {
			n++
		}
		done <- n
	}()
	t0 = time.Now()
	for i := 0; i < items; i++ {
		stream <- i
	}
	close(stream)
	<-done
	el := float64(time.Since(t0).Nanoseconds())
	fmt.Printf("stream_ns_per_item,%.1f\n", el/float64(items))
	fmt.Printf("stream_items_per_s,%.0f\n", float64(items)*1e9/el)
}
