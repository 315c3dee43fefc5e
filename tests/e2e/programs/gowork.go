// A Go program (its own runtime, scheduler threads and TLS, statically
// linked): goroutines sieve primes in ranges and a reporter prints each
// range's count in order, slowly enough to be caught mid-run. The output
// is the same for every run.
package main

import (
	"fmt"
	"os"
	"time"
)

func countPrimes(lo, hi int) int {
	n := 0
	for i := lo; i < hi; i++ {
		if i < 2 {
			continue
		}
		prime := true
		for d := 2; d*d <= i; d++ {
			if i%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			n++
		}
	}
	return n
}

func main() {
	const ranges, width = 60, 20000
	results := make([]chan int, ranges)
	sem := make(chan struct{}, 4)
	for r := 0; r < ranges; r++ {
		results[r] = make(chan int, 1)
		go func(r int) {
			sem <- struct{}{}
			results[r] <- countPrimes(r*width, (r+1)*width)
			<-sem
		}(r)
	}
	total := 0
	for r := 0; r < ranges; r++ {
		c := <-results[r]
		total += c
		fmt.Printf("range %d: %d primes, %d so far\n", r, c, total)
		os.Stdout.Sync()
		time.Sleep(40 * time.Millisecond)
	}
	fmt.Printf("total %d\n", total)
}
