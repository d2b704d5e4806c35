package inner

func main() (int, error) {
	return nope, nil
}
