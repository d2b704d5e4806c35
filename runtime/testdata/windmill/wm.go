package inner

import (
	wmill "github.com/windmill-labs/windmill-go-client"
)

// A Windmill script, unchanged: state through the Go client.
func main(x int) (interface{}, error) {
	prev, err := wmill.GetState()
	if err != nil {
		return nil, err
	}
	if err := wmill.SetState(map[string]interface{}{"last": x}); err != nil {
		return nil, err
	}
	return map[string]interface{}{"prev": prev, "path": wmill.GetStatePath()}, nil
}
