package inner

import "github.com/example/opt"

type Box[T any] struct {
	Value T
}

type Pair[K comparable, V any] struct {
	Key K
	Val V
}

func main(a int, b Box[string], c Pair[string, int], d opt.Option[int], e *(string)) error {
	return nil
}
