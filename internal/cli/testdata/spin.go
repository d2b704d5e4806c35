package inner

func main() (int, error) {
	x := 0
	for {
		x++
	}
}
