package pdk

import "encoding/json"

type runReq struct {
	Path string `json:"path"`
	Args any    `json:"args"`
}

// RunScript runs the script at path as a child job, waits for it and
// returns its JSON result.
func RunScript(path string, args map[string]any) (json.RawMessage, error) {
	var out json.RawMessage
	err := call(OpRunScript, runReq{path, args}, &out)
	return out, err
}

// RunScriptAsync queues the script at path as a child job and returns its id.
func RunScriptAsync(path string, args map[string]any) (string, error) {
	var id string
	err := call(OpRunScriptAsync, runReq{path, args}, &id)
	return id, err
}

// WaitJob waits for the job id and returns its JSON result.
func WaitJob(id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := call(OpWaitJob, struct {
		ID string `json:"id"`
	}{id}, &out)
	return out, err
}
