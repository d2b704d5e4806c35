// Package windmill is runlet's drop-in for Windmill's Go client
// (github.com/windmill-labs/windmill-go-client). When a script imports that
// module, runlet builds it against this package instead, so Windmill scripts
// run unchanged: every call maps onto the runlet pdk.
package windmill

import (
	"errors"
	"os"

	"github.com/runlet/runlet/pdk"
)

// ErrNotAvailable is returned by the calls runlet does not offer to scripts.
var ErrNotAvailable = errors.New("windmill: not available in runlet")

// GetVariable returns the variable at path.
func GetVariable(path string) (string, error) { return pdk.GetVariable(path) }

// GetResource returns the resource at path.
func GetResource(path string) (interface{}, error) {
	if path == GetStatePath() {
		return pdk.GetState()
	}
	return pdk.GetResource(path)
}

// SetResource stores value at path. Only the state path is writable from a
// script in runlet; any other path returns ErrNotAvailable.
func SetResource(path string, value interface{}, resourceTypeOpt ...string) error {
	if path == GetStatePath() {
		return pdk.SetState(value)
	}
	return ErrNotAvailable
}

// SetVariable is not available to scripts in runlet.
func SetVariable(path string, value string) error { return ErrNotAvailable }

// GetStatePath returns the state path Windmill scripts key their state with.
func GetStatePath() string {
	if v := os.Getenv("WM_STATE_PATH_NEW"); v != "" {
		return v
	}
	if v := os.Getenv("WM_STATE_PATH"); v != "" {
		return v
	}
	return "state"
}

// GetState returns the script's state, or nil before the first SetState.
func GetState() (interface{}, error) { return pdk.GetState() }

// SetState replaces the script's state.
func SetState(state interface{}) error { return pdk.SetState(state) }

// ResumeUrls are the approval links of a suspended flow step.
type ResumeUrls struct {
	ApprovalPage string `json:"approvalPage"`
	Cancel       string `json:"cancel"`
	Resume       string `json:"resume"`
}

// GetResumeUrls returns the links that approve or cancel the job's next
// approval wait (pdk.WaitForApproval), for approver ("" for anyone).
func GetResumeUrls(approver string) (ResumeUrls, error) {
	u, err := pdk.GetResumeURLs(approver)
	return ResumeUrls{ApprovalPage: u.ApprovalPage, Cancel: u.Cancel, Resume: u.Resume}, err
}
