package main

import "fmt"

//require github.com/google/uuid v1.6.0

func main(name string, times int) error {
	for range times {
		fmt.Println("hello", name)
	}
	return nil
}
