package inner

import (
	"fmt"
	"time"
)

//require github.com/google/uuid v1.6.0
//require golang.org/x/text v0.14.0

// requirements below are prose, not //require lines:
// require nothing else

type Slack struct {
	Token string `json:"token"`
}

// main greets someone.
func main(x string, nb int, fl float64, dt time.Time, bin []byte, obj struct {
	Name  string   `json:"name"`
	Tags  []string `json:"tags,omitempty"`
	Owner *string  `json:"owner"`
}, slack Slack, maybe *int) (interface{}, error) {
	return fmt.Sprintf("hello %s %d %f %s %d %v %s", x, nb, fl, dt, len(bin), obj, slack.Token), nil
}
