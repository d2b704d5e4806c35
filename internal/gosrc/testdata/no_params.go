package inner

func main() int {
	return 42
}
