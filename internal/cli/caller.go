package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/runlet/runlet/host"
	"github.com/runlet/runlet/pdk"
)

// memCaller serves host calls for `runlet run`: state lives in memory for
// the one run; variables, resources and child jobs need the server.
type memCaller struct {
	mu    sync.Mutex
	state json.RawMessage
}

func newMemCaller() *memCaller { return &memCaller{} }

func (c *memCaller) Call(ctx context.Context, op pdk.Op, req []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch op {
	case pdk.OpStateGet:
		if c.state == nil {
			return []byte("null"), nil
		}
		return c.state, nil
	case pdk.OpStateSet:
		var r struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(req, &r); err != nil {
			return nil, err
		}
		c.state = r.Value
		return []byte("{}"), nil
	case pdk.OpStateCAS:
		var r struct {
			Old json.RawMessage `json:"old"`
			New json.RawMessage `json:"new"`
		}
		if err := json.Unmarshal(req, &r); err != nil {
			return nil, err
		}
		cur := c.state
		if cur == nil {
			cur = json.RawMessage("null")
		}
		swapped := jsonEqual(cur, r.Old)
		if swapped {
			c.state = r.New
			cur = r.New
		}
		return json.Marshal(map[string]any{"swapped": swapped, "current": cur})
	case pdk.OpVariableGet, pdk.OpResourceGet:
		return nil, fmt.Errorf("variables and resources are not available in `runlet run` (they need `runlet serve`)")
	case pdk.OpRunScript, pdk.OpRunScriptAsync, pdk.OpWaitJob:
		return nil, fmt.Errorf("child jobs are not available in `runlet run` (they need `runlet serve`)")
	}
	return nil, host.ErrUnsupported
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
