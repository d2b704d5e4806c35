package pdk

import "encoding/json"

func call(op Op, req any, resp any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	out, err := hostCall(op, b)
	if err != nil {
		return err
	}
	if resp == nil {
		return nil
	}
	return json.Unmarshal(out, resp)
}

// GetState returns the script's state (per script path, kept apart for
// scheduled and manual runs), or nil before the first SetState.
func GetState() (any, error) {
	var v any
	err := call(OpStateGet, struct{}{}, &v)
	return v, err
}

// GetStateInto decodes the script's state into v and reports whether a state
// was set.
func GetStateInto(v any) (bool, error) {
	var raw json.RawMessage
	if err := call(OpStateGet, struct{}{}, &raw); err != nil {
		return false, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// SetState replaces the script's state; the last writer wins.
func SetState(v any) error {
	return call(OpStateSet, struct {
		Value any `json:"value"`
	}{v}, nil)
}

// CompareAndSetState replaces the state with next only if it still equals
// old (compared as JSON; nil means "never set"). It reports whether it did.
func CompareAndSetState(old, next any) (bool, error) {
	var resp struct {
		Swapped bool `json:"swapped"`
	}
	err := call(OpStateCAS, struct {
		Old any `json:"old"`
		New any `json:"new"`
	}{old, next}, &resp)
	return resp.Swapped, err
}

// GetVariable returns the value of the variable at path (for example
// "u/alice/api_key"). Secret values are redacted from the job's logs.
func GetVariable(path string) (string, error) {
	var v string
	err := call(OpVariableGet, struct {
		Path string `json:"path"`
	}{path}, &v)
	return v, err
}

// GetResource returns the resource at path as decoded JSON.
func GetResource(path string) (any, error) {
	var v any
	err := GetResourceInto(path, &v)
	return v, err
}

// GetResourceInto decodes the resource at path into v.
func GetResourceInto(path string, v any) error {
	return call(OpResourceGet, struct {
		Path string `json:"path"`
	}{path}, v)
}
