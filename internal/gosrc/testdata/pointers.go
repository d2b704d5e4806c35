package inner

import "time"

func main(name string, limit *int, label *string, since *time.Time, tags *[]string, deep **bool, blob *[]byte) {
}
