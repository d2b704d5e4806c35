//go:build !wasip1

package pdk

func seed() uint64 { return 0 }
