// Command runlet runs small scripts inside WebAssembly sandboxes.
package main

import (
	"os"

	"github.com/runlet/runlet/internal/cli"
	"github.com/runlet/runlet/runtime"
)

func main() {
	if runtime.IsWorker() {
		os.Exit(runtime.WorkerMain())
	}
	os.Exit(cli.Main(os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
