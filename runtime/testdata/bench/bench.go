// Package inner is the benchmark guest: a trivial echo and fibo.
package inner

func fibo(n int) int {
	if n < 2 {
		return n
	}
	return fibo(n-1) + fibo(n-2)
}

func main(n int) (int, error) {
	if n <= 0 {
		return n, nil
	}
	return fibo(n), nil
}
