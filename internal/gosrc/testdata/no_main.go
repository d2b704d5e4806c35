package inner

type T struct{}

// A method named main is not func main.
func (T) main(x int) int { return x }

func helper(a, b int) int { return a + b }
