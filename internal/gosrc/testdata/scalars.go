package inner

import "fmt"

// Every predeclared scalar type, returning (T, error).
func main(i int, i8 int8, i16 int16, i32 int32, i64 int64, u uint, u8 uint8, u16 uint16, u32 uint32, u64 uint64, up uintptr, b byte, r rune, f32 float32, f64 float64, s string, ok bool) (string, error) {
	return fmt.Sprint(i, i8, i16, i32, i64, u, u8, u16, u32, u64, up, b, r, f32, f64, s, ok), nil
}
