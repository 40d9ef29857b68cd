// Command hellobench measures a warm "hello" execute through the Go package: one engine with the
// default thread pool, 2000 warm-up calls, then N sequential calls (N from the first argument,
// default 20000). It prints one line: hello_execute go <microseconds per call>.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"libworker.dev/worker"
)

const hello = `export default { fetch() { return new Response("hello") } }`

func main() {
	n := 20000
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v <= 0 {
			fmt.Fprintln(os.Stderr, "usage: hellobench [calls]")
			os.Exit(2)
		}
		n = v
	}
	loader := worker.SourceLoaderFunc(func(site, deploy string) (string, error) { return hello, nil })
	engine, err := worker.NewEngine(worker.EngineConfig{}, loader)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer engine.Shutdown()
	req := &worker.WorkerRequest{Method: "GET", URL: "https://example.com/"}
	call := func() {
		res := engine.Execute("hello", "v1", nil, req)
		if res.Error != nil || string(res.Response.Body) != "hello" {
			fmt.Fprintln(os.Stderr, "unexpected result:", res.Error)
			os.Exit(1)
		}
	}
	for i := 0; i < 2000; i++ {
		call()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		call()
	}
	us := float64(time.Since(start).Microseconds()) / float64(n)
	fmt.Printf("hello_execute go %.2f\n", us)
}
