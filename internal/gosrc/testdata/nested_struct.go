package inner

type hidden struct{}

func main(cfg struct {
	Host     string `json:"host"`
	Port     int    `json:"port,omitempty"`
	User     *string
	Password []int  `json:"-"`
	Dash     string `json:"-,"`
	Renamed  bool   `json:",omitempty"`
	Zero     int    `json:"zero,omitzero"`
	A, B     float64
	private  int
	_        string
	hidden
	TLS struct {
		Cert []byte `json:"cert"`
		Skip bool   `yaml:"skip" json:"skip"`
	} `json:"tls"`
	Servers []struct {
		Name string `json:"name"`
	} `json:"servers"`
}) (map[string]any, error) {
	return nil, nil
}
