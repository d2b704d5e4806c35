package inner

import (
	_ "embed"
	. "time"
)

func main(at Time, every Duration) (string, error) {
	return at.Add(every).String(), nil
}
