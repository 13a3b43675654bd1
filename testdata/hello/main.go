// Command hello is the anchor of the start-up benchmark (BenchmarkStartup in cmd/hermes): a Go
// hello-world, what any Go program pays to start and exit.
package main

import "fmt"

func main() { fmt.Println("hello, world") }
