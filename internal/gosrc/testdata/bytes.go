package inner

type Octet uint8

type Blob []byte

func main(data []byte, raw []uint8, octets []Octet, fixed [4]byte, many [][]byte, blob Blob, maybe *[]byte) {
}
