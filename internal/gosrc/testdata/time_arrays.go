package inner

import (
	t "time"
)

func main(when t.Time, days []t.Time, window [2]t.Time, grid [][]int64, names [3]string, d t.Duration) error {
	return nil
}
