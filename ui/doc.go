// Package ui will hold runlet's server-rendered web UI (templ components):
// forms generated from script schemas, live logs, schedules. It lands after
// the server.
package ui
