package inner

import (
	"fmt"
	"time"
)

type Point struct {
	X int `json:"x"`
}

func main(a int, b float64, label string, when time.Time, tags []string, p *Point) (map[string]any, error) {
	fmt.Println("adding", a, b)
	if label == "fail" {
		return nil, fmt.Errorf("label %q is not allowed", label)
	}
	return map[string]any{"sum": float64(a) + b, "label": label, "year": when.Year(), "tags": tags, "p": p}, nil
}
