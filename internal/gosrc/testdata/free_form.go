package inner

func main(counts map[string]int, extra map[string]any, anything interface{}, value any, list []any, nested map[string][]string) (any, error) {
	return nil, nil
}
