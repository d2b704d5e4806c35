// Package inner is the hostile-script suite's guest: one script whose mode
// argument picks the misbehaviour, so the suite builds and compiles once.
package inner

import (
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet/pdk"
)

var counter int

var sink []byte

func depth(n int) int { return depth(n+1) + 1 }

func main(mode string, n int) (any, error) {
	switch mode {
	case "echo":
		return map[string]any{"mode": mode, "n": n}, nil
	case "incr":
		counter += 1
		return counter, nil
	case "readfile":
		b, err := os.ReadFile("/etc/passwd")
		return string(b), err
	case "listdir":
		ents, err := os.ReadDir("/")
		return len(ents), err
	case "socket":
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", n))
		if c != nil {
			c.Close()
		}
		return "connected", err
	case "env":
		return map[string]any{"home": os.Getenv("HOME"), "path": os.Getenv("PATH"), "environ": os.Environ()}, nil
	case "alloc":
		var keep [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = byte(i)
			}
			keep = append(keep, b)
		}
	case "spin":
		x := 0
		for {
			x++
		}
	case "spincalls":
		x := 0
		for {
			x = step(x)
		}
	case "recurse":
		return depth(0), nil
	case "bigresult":
		return strings.Repeat("x", n), nil
	case "biglogs":
		for i := 0; ; i++ {
			fmt.Println("log line", i, strings.Repeat("y", 100))
		}
	case "bigpdklogs":
		for i := 0; ; i++ {
			pdk.Info("log line", "i", i)
		}
	case "hostflood":
		for {
			_, _ = pdk.GetState()
		}
	case "panic":
		var m map[string]int
		m["boom"] = 1
		return nil, nil
	case "error":
		return nil, errors.New("bad input: " + fmt.Sprint(n))
	case "exit":
		os.Exit(n)
	case "sleep":
		time.Sleep(time.Duration(n) * time.Millisecond)
		return "slept", nil
	case "goroutines":
		var wg sync.WaitGroup
		results := make(chan int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				time.Sleep(time.Millisecond)
				results <- i * i
			}(i)
		}
		wg.Wait()
		close(results)
		sum := 0
		for r := range results {
			sum += r
		}
		return sum, nil
	case "rand":
		return rand.Int63(), nil
	case "grow":
		sink = make([]byte, n<<20)
		for i := range sink {
			sink[i] = 1
		}
		return len(sink), nil
	case "fibo":
		return fibo(n), nil
	case "state":
		prev, err := pdk.GetState()
		if err != nil {
			return nil, err
		}
		return prev, pdk.SetState(n)
	case "variable":
		return pdk.GetVariable("u/admin/secret")
	case "http":
		_, err := pdk.Get(fmt.Sprintf("http://127.0.0.1:%d/", n))
		return nil, err
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}

//go:noinline
func step(x int) int { return x + 1 }

func fibo(n int) int {
	if n < 2 {
		return n
	}
	return fibo(n-1) + fibo(n-2)
}
