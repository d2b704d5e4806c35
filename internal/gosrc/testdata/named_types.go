package inner

type Level string

type Levels []Level

type Count int64

type Port uint16

type Ratio float64

type Flag bool

type Name = string

type Point = struct {
	X int `json:"x"`
	Y int `json:"y"`
}

type Registry = PostgresDB

type PostgresDB struct{ DSN string }

type Matrix [][]Ratio

func main(level Level, levels Levels, count Count, port *Port, ratio Ratio, flag Flag, name Name, at Point, reg Registry, m Matrix) (Count, error) {
	return 0, nil
}
